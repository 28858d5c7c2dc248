import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  generatedContent,
  startFaultProxy,
  startHttpFixture,
  startSshd,
  startVsftpd,
  waitFor,
  type FaultProxy,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { watchDestinations, type ExpectedFile } from './support/destination-watcher.js';
import { jsonLines, startDl } from './support/run-dl.js';
import { writeServed } from './support/served-files.js';
import { sha256, sha256OfFile, tempFilesUnder } from './support/tree.js';

/** Past the file sink's 256 KiB write buffer, so a stalled transfer has its temp file on disk. */
const SIZE = 400 * 1024;
const STALL_AT = 320 * 1024;
const PER_PROTOCOL = 6;
const PROTOCOLS = ['http', 'ftp', 'sftp'] as const;
type Protocol = (typeof PROTOCOLS)[number];

/**
 * Half the files of each protocol go through a proxy that passes everything,
 * half through one that stalls every connection at STALL_AT until the
 * proxy's faults are lifted: SIGINT comes while those are mid-body.
 */
describe('SIGINT to the dl command during a run over HTTP, FTP and SFTP', () => {
  let web: HttpFixture;
  let ftpd: RunningVsftpd;
  let sshd: RunningSshd;
  const fast: Partial<Record<Protocol, FaultProxy>> = {};
  const slow: Partial<Record<Protocol, FaultProxy>> = {};
  let dir: string;
  const expected = new Map<string, ExpectedFile>();

  beforeAll(async () => {
    [web, ftpd, sshd] = await Promise.all([startHttpFixture(), startVsftpd(), startSshd()]);
    dir = await mkdtemp(join(tmpdir(), 'dl-sigint-'));
    const ports: Record<Protocol, number> = { http: web.port, ftp: ftpd.port, sftp: sshd.port };
    const lines: string[] = [];
    for (const protocol of PROTOCOLS) {
      const target = { host: '127.0.0.1', port: ports[protocol] };
      const ftp = protocol === 'ftp';
      fast[protocol] = await startFaultProxy({ target, ftp });
      slow[protocol] = await startFaultProxy({
        target,
        ftp,
        rules: [{ kind: 'stall', at: STALL_AT, channel: ftp ? 'data' : 'main', stallMs: 120_000 }],
      });
      for (let i = 0; i < PER_PROTOCOL; i++) {
        const path = `pub/${protocol}/${i}.bin`;
        const data = generatedContent(`/${path}`, SIZE);
        const port = (i % 2 === 0 ? fast : slow)[protocol]!.port;
        let url: string;
        if (protocol === 'http') {
          web.put(`/${path}`, data);
          url = `http://127.0.0.1:${port}/${path}`;
        } else if (protocol === 'ftp') {
          await writeServed(ftpd.root, path, data);
          url = `ftp://127.0.0.1:${port}/${path}`;
        } else {
          await writeServed(sshd.root, path, data);
          url = `sftp://127.0.0.1:${port}${sshd.root}/${path}`;
        }
        const relative = `${protocol}/${i}.bin`;
        expected.set(join(dir, 'out', relative), { size: SIZE, sha256: sha256(data) });
        lines.push(
          JSON.stringify({ url, path: relative, size: SIZE, digests: { sha256: sha256(data) } }),
        );
      }
    }
    await writeFile(join(dir, 'manifest.jsonl'), `${lines.join('\n')}\n`);
    // Only the pinned fingerprint is trusted, not root's own known_hosts.
    await writeFile(join(dir, 'known_hosts'), '');
    for (const protocol of PROTOCOLS) await mkdir(join(dir, 'out', protocol), { recursive: true });
  });

  afterAll(async () => {
    await Promise.all([...Object.values(fast), ...Object.values(slow)].map((p) => p.stop()));
    await Promise.all([web?.stop(), ftpd?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const args = () => [
    'get',
    '-i',
    'manifest.jsonl',
    '-o',
    'out',
    '-j',
    '18',
    '--json',
    '--sftp-user',
    sshd.username,
    '--ssh-key',
    sshd.privateKeyPath,
    '--known-hosts',
    join(dir, 'known_hosts'),
    '--host-fingerprint',
    `127.0.0.1=${sshd.hostKey.fingerprint}`,
  ];

  const serversIdle = () =>
    web.stats().connections === 0 &&
    ftpd.connections() + ftpd.dataConnections() === 0 &&
    sshd.connections() === 0 &&
    [...Object.values(fast), ...Object.values(slow)].every(
      (p) => p.stats().open === 0 && p.stats().dataPorts === 0,
    );

  it('exits 130 with no temp file and nothing open; a second run skips the valid files and completes the rest', async () => {
    const out = join(dir, 'out');
    const watcher = watchDestinations(
      PROTOCOLS.map((p) => join(out, p)),
      expected,
    );
    const first = startDl(args(), { cwd: dir });
    const downloaded = () =>
      first
        .output()
        .stdout.split('\n')
        .filter((line) => line.includes('"ok":true')).length;
    // The fast half is done and every slow transfer has its temp file on disk: now.
    await waitFor(
      async () =>
        first.child.exitCode === null &&
        downloaded() === (PER_PROTOCOL / 2) * 3 &&
        (await tempFilesUnder(out)).length === (PER_PROTOCOL / 2) * 3,
      {
        timeoutMs: 20_000,
        intervalMs: 50,
        message: () => `not there yet: ${JSON.stringify(first.output())}`,
      },
    );
    first.child.kill('SIGINT');
    const run = await first.done;
    expect(run.code, run.stderr).toBe(130);
    const { records, summary } = jsonLines(run.stdout);
    expect(summary).toMatchObject({ ok: 9, interrupted: 'SIGINT' });
    expect(records.filter((r) => r.ok === true)).toHaveLength(9);
    expect(await tempFilesUnder(out)).toEqual([]);
    // What dl had open is gone with it: the servers and the proxies see nothing left.
    await waitFor(serversIdle, {
      timeoutMs: 5000,
      message: () =>
        `still open: http ${web.stats().connections}, ftp ${ftpd.connections()}+${ftpd.dataConnections()}, sftp ${sshd.connections()}`,
    });

    for (const proxy of Object.values(slow)) proxy.setFaults({});
    const second = await startDl(args(), { cwd: dir }).done;
    watcher.close();
    expect(second.code, second.stderr).toBe(0);
    const again = jsonLines(second.stdout);
    expect(again.records).toHaveLength(18);
    expect(again.records.filter((r) => r.skipped === true)).toHaveLength(9);
    expect(again.summary).toMatchObject({ ok: 18, skipped: 9, downloaded: 9, failed: 0 });
    expect(watcher.violations).toEqual([]);
    for (const [path, file] of expected) expect(await sha256OfFile(path), path).toBe(file.sha256);
    expect(await tempFilesUnder(out)).toEqual([]);
    await waitFor(serversIdle, 5000);
  });
});
