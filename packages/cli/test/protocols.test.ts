import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import {
  freePort,
  generatedContent,
  startHttpFixture,
  startSshd,
  startVsftpd,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseJsonOutput, runDl } from './run-dl.js';

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

describe('dl get across file:, http:, ftp:, sftp: and a mirror list', () => {
  let web: HttpFixture;
  let ftpd: RunningVsftpd;
  let sshd: RunningSshd;
  let dir: string;
  let closedPort: number;
  const pool = ['pool/p1.bin', 'pool/p2.bin', 'pool/sub/p3.bin'];

  beforeAll(async () => {
    [web, ftpd, sshd] = await Promise.all([startHttpFixture(), startVsftpd(), startSshd()]);
    closedPort = await freePort();
    dir = await mkdtemp(join(tmpdir(), 'dl-cli-protocols-'));
    await mkdir(join(ftpd.root, 'mirror/pool/sub'), { recursive: true });
    await mkdir(join(sshd.root, 'mirror/pool/sub'), { recursive: true });
    for (const path of pool) {
      const data = generatedContent(`/${path}`, 40_000);
      // The HTTP mirror lacks p2: that file must come from another mirror.
      if (path !== 'pool/p2.bin') web.put(`/mirror/${path}`, data);
      await writeFile(join(ftpd.root, 'mirror', path), data);
      await writeFile(join(sshd.root, 'mirror', path), data);
    }
    web.put('/direct.bin', generatedContent('/direct.bin', 20_000));
    await writeFile(join(ftpd.root, 'ftp.bin'), generatedContent('/ftp.bin', 30_000));
    await writeFile(join(sshd.root, 'sftp.bin'), generatedContent('/sftp.bin', 50_000));
    await writeFile(join(dir, 'local.bin'), generatedContent('/local.bin', 10_000));
  });
  afterAll(async () => {
    await Promise.allSettled([web?.stop(), ftpd?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const sshArgs = () => ['--ssh-key', sshd.privateKeyPath, '--known-hosts', sshd.knownHostsFile];

  it('downloads a manifest mixing every protocol and mirror-list paths, all validated', async () => {
    const sftpBase = new URL(sshd.url('mirror/'));
    sftpBase.username = '';
    await writeFile(
      join(dir, 'mirrors.txt'),
      [
        '# the first mirror is down',
        `http://127.0.0.1:${closedPort}/mirror/`,
        web.url('/mirror/'),
        ftpd.url('mirror/'),
        sftpBase.href,
      ].join('\n'),
    );
    const entry = (url: string, path: string, content: Uint8Array) =>
      JSON.stringify({ url, path, size: content.length, digests: { sha256: sha256(content) } });
    const manifest = [
      entry(web.url('/direct.bin'), 'http/direct.bin', generatedContent('/direct.bin', 20_000)),
      entry(ftpd.url('ftp.bin'), 'ftp/ftp.bin', generatedContent('/ftp.bin', 30_000)),
      entry(sshd.url('sftp.bin'), 'sftp/sftp.bin', generatedContent('/sftp.bin', 50_000)),
      entry(
        pathToFileURL(join(dir, 'local.bin')).href,
        'file/local.bin',
        generatedContent('/local.bin', 10_000),
      ),
      ...pool.map((path) => entry(path, `mirrored/${path}`, generatedContent(`/${path}`, 40_000))),
      JSON.stringify({ url: `mirror://mirrors/${pool[0]}`, path: 'by-scheme.bin' }),
    ].join('\n');
    await writeFile(join(dir, 'mixed.jsonl'), manifest);
    const run = await runDl(
      [
        'get',
        '-i',
        'mixed.jsonl',
        '--mirrorlist',
        'mirrors.txt',
        '-o',
        'out',
        '--json',
        ...sshArgs(),
      ],
      { cwd: dir },
    );
    // Nothing on stderr but the human summary.
    expect(run.stderr).toMatch(
      /^dl: 8 files ok \(8 downloaded\) · [^\n]+\n {4}7 of 8 files [^\n]+\n$/,
    );
    expect(run.code).toBe(0);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(records.filter((r) => !r.ok)).toEqual([]);
    expect(summary).toMatchObject({ ok: 8, failed: 0, invalid: 0, verified: 7 });
    for (const path of pool) {
      expect(await readFile(join(dir, 'out/mirrored', path))).toEqual(
        Buffer.from(generatedContent(`/${path}`, 40_000)),
      );
    }
    expect(await readFile(join(dir, 'out/sftp/sftp.bin'))).toEqual(
      Buffer.from(generatedContent('/sftp.bin', 50_000)),
    );
    expect(await readFile(join(dir, 'out/ftp/ftp.bin'))).toEqual(
      Buffer.from(generatedContent('/ftp.bin', 30_000)),
    );
  });

  it('downloads the files a metalink describes, failing over from a broken URL', async () => {
    const a = generatedContent('/pool/p1.bin', 40_000);
    const b = generatedContent('/pool/p2.bin', 40_000);
    await writeFile(
      join(dir, 'files.meta4'),
      `<?xml version="1.0" encoding="UTF-8"?>
<metalink xmlns="urn:ietf:params:xml:ns:metalink">
  <file name="one/p1.bin">
    <size>${a.length}</size>
    <hash type="sha-256">${sha256(a)}</hash>
    <url priority="1">http://127.0.0.1:${closedPort}/p1.bin</url>
    <url priority="2">${web.url('/mirror/pool/p1.bin')}</url>
  </file>
  <file name="two/p2.bin">
    <size>${b.length}</size>
    <hash type="sha-256">${sha256(b)}</hash>
    <url priority="1">${web.url('/mirror/pool/p2.bin')}</url>
    <url priority="2">${ftpd.url('mirror/pool/p2.bin')}</url>
  </file>
</metalink>
`,
    );
    const run = await runDl(['get', '--metalink', 'files.meta4', '-o', 'meta-out', '--json'], {
      cwd: dir,
    });
    expect(run.code).toBe(0);
    const { records, summary } = parseJsonOutput(run.stdout);
    expect(summary).toMatchObject({ ok: 2, verified: 2 });
    expect(records.map((r) => r.path).sort()).toEqual([
      join(dir, 'meta-out/one/p1.bin'),
      join(dir, 'meta-out/two/p2.bin'),
    ]);
    expect(await readFile(join(dir, 'meta-out/two/p2.bin'))).toEqual(Buffer.from(b));
  });

  it('refuses an SFTP server whose host key is not known', async () => {
    const other = join(dir, 'other_known_hosts');
    await writeFile(other, '');
    const run = await runDl(
      [
        'get',
        sshd.url('sftp.bin'),
        '-o',
        'untrusted',
        '--ssh-key',
        sshd.privateKeyPath,
        '--known-hosts',
        other,
      ],
      { cwd: dir },
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/untrusted-server/);
  });
});
