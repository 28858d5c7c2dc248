import { readdir, rm, mkdtemp, stat, utimes, writeFile } from 'node:fs/promises';
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
import { startDl, type RunningDl } from './support/run-dl.js';
import { writeServed } from './support/served-files.js';
import { sha256, sha256OfFile } from './support/tree.js';

/** 64 MiB by default; the 256 MiB with DL_RESUME_MIB=256. */
const SIZE = Number(process.env.DL_RESUME_MIB ?? 64) * 1024 * 1024;
/** Time limits grow with the size (SFTP moves 256 MiB twice in well over two minutes here). */
const SCALE = Math.max(1, SIZE / (64 * 1024 * 1024));
/** Capped so that half the file takes a second or two. */
const RATE = '24M';
const PROTOCOLS = ['http', 'ftp', 'sftp'] as const;
type Protocol = (typeof PROTOCOLS)[number];

/** Bytes transferred per second run, per protocol and case, reported at the end. */
const figures: Record<string, string> = {};

/**
 * Issue 15: `dl get` interrupted at about half keeps the partial
 * (`.NAME.dl-resume`), and the next run transfers only the rest (counted
 * server-side, at a proxy in front of the server), over HTTP, FTP and SFTP.
 * A remote file changed in between is downloaded whole.
 */
describe('dl get resumes across runs (SIGINT, kill -9)', { timeout: 120_000 * SCALE }, () => {
  let web: HttpFixture;
  let ftpd: RunningVsftpd;
  let sshd: RunningSshd;
  const proxies: Partial<Record<Protocol, FaultProxy>> = {};
  let dir: string;

  beforeAll(async () => {
    [web, ftpd, sshd] = await Promise.all([startHttpFixture(), startVsftpd(), startSshd()]);
    dir = await mkdtemp(join(tmpdir(), 'dl-resume-'));
    proxies.http = await startFaultProxy({ target: { host: '127.0.0.1', port: web.port } });
    proxies.ftp = await startFaultProxy({
      target: { host: '127.0.0.1', port: ftpd.port },
      ftp: true,
    });
    proxies.sftp = await startFaultProxy({ target: { host: '127.0.0.1', port: sshd.port } });
    await writeFile(join(dir, 'known_hosts'), '');
  });

  afterAll(async () => {
    console.log(`resume figures (SIZE ${SIZE}):`, JSON.stringify(figures, null, 1));
    await Promise.all(Object.values(proxies).map((p) => p.stop()));
    await Promise.all([web?.stop(), ftpd?.stop(), sshd?.stop()]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Serves `data` at `name` over `protocol`, with a modification time of `mtime` (seconds). */
  async function serve(protocol: Protocol, name: string, data: Uint8Array, mtime: number) {
    const port = proxies[protocol]!.port;
    if (protocol === 'http') {
      web.put(`/${name}`, data, { lastModified: new Date(mtime * 1000) });
      return `http://127.0.0.1:${port}/${name}`;
    }
    const root = protocol === 'ftp' ? ftpd.root : sshd.root;
    await writeServed(root, name, data);
    await utimes(join(root, name), mtime, mtime);
    return protocol === 'ftp'
      ? `ftp://127.0.0.1:${port}/${name}`
      : `sftp://127.0.0.1:${port}${sshd.root}/${name}`;
  }

  const args = (url: string, out: string) => [
    'get',
    url,
    '-o',
    out,
    '--json',
    '--limit-rate',
    RATE,
    '--sftp-user',
    sshd.username,
    '--ssh-key',
    sshd.privateKeyPath,
    '--known-hosts',
    join(dir, 'known_hosts'),
    '--host-fingerprint',
    `127.0.0.1=${sshd.hostKey.fingerprint}`,
  ];

  /** Bytes of the live temp file under `out` (0 when there is none). */
  async function tempBytes(out: string): Promise<number> {
    const names = await readdir(out).catch(() => [] as string[]);
    const temp = names.find((n) => n.endsWith('.dl-part'));
    if (temp === undefined) return 0;
    return (await stat(join(out, temp)).catch(() => undefined))?.size ?? 0;
  }

  /** Starts `dl get`, and interrupts it with `signal` once about half the file is on disk. */
  async function interruptAtHalf(url: string, out: string, signal: NodeJS.Signals) {
    const first: RunningDl = startDl(args(url, out), { cwd: dir, timeoutMs: 120_000 * SCALE });
    await waitFor(async () => (await tempBytes(out)) >= SIZE / 2, {
      timeoutMs: 60_000 * SCALE,
      intervalMs: 20,
      message: () => `no half yet: ${JSON.stringify(first.output())}`,
    });
    first.child.kill(signal);
    return first.done;
  }

  async function secondRun(protocol: Protocol, url: string, out: string) {
    const proxy = proxies[protocol]!;
    const before = proxy.stats().bytesToClient;
    const run = await startDl(args(url, out), { cwd: dir, timeoutMs: 120_000 * SCALE }).done;
    return { run, transferred: proxy.stats().bytesToClient - before };
  }

  for (const protocol of PROTOCOLS) {
    it(`${protocol}: SIGINT at half keeps the partial; the next run transfers at most 55 %`, async () => {
      const name = `resume-${protocol}.bin`;
      const data = generatedContent(`/${name}`, SIZE);
      const url = await serve(protocol, name, data, 1_700_000_000);
      const out = join(dir, `out-${protocol}`);
      const first = await interruptAtHalf(url, out, 'SIGINT');
      expect(first.code, first.stderr).toBe(130);
      expect((await readdir(out)).sort()).toEqual([
        `.${name}.dl-resume`,
        `.${name}.dl-resume.json`,
      ]);
      const { run, transferred } = await secondRun(protocol, url, out);
      expect(run.code, run.stderr).toBe(0);
      figures[`${protocol} resumed`] =
        `${transferred} (${((100 * transferred) / SIZE).toFixed(1)} %)`;
      expect(transferred).toBeLessThanOrEqual(0.55 * SIZE);
      expect(await sha256OfFile(join(out, name))).toBe(sha256(data));
      expect(await readdir(out)).toEqual([name]);
    });

    it(`${protocol}: a remote file changed in between: the partial is discarded, the file downloaded whole`, async () => {
      const name = `changed-${protocol}.bin`;
      const data = generatedContent(`/${name}`, SIZE);
      const url = await serve(protocol, name, data, 1_700_000_000);
      const out = join(dir, `out-changed-${protocol}`);
      const first = await interruptAtHalf(url, out, 'SIGINT');
      expect(first.code, first.stderr).toBe(130);
      const changed = generatedContent(`/${name}.v2`, SIZE);
      await serve(protocol, name, changed, 1_700_000_100);
      const { run, transferred } = await secondRun(protocol, url, out);
      expect(run.code, run.stderr).toBe(0);
      figures[`${protocol} changed`] =
        `${transferred} (${((100 * transferred) / SIZE).toFixed(1)} %)`;
      expect(transferred).toBeGreaterThanOrEqual(SIZE);
      expect(await sha256OfFile(join(out, name))).toBe(sha256(changed));
      expect(await readdir(out)).toEqual([name]);
    });
  }

  it('http: kill -9 at half: the next run adopts the dead run temp and transfers at most 55 %', async () => {
    const name = 'killed.bin';
    const data = generatedContent(`/${name}`, SIZE);
    const url = await serve('http', name, data, 1_700_000_000);
    const out = join(dir, 'out-killed');
    const first = await interruptAtHalf(url, out, 'SIGKILL');
    expect(first.signal).toBe('SIGKILL');
    const left = await readdir(out);
    expect(left.filter((n) => n.endsWith('.dl-part'))).toHaveLength(1);
    expect(left.filter((n) => n.endsWith('.dl-part.json'))).toHaveLength(1);
    const { run, transferred } = await secondRun('http', url, out);
    expect(run.code, run.stderr).toBe(0);
    figures['http kill -9'] = `${transferred} (${((100 * transferred) / SIZE).toFixed(1)} %)`;
    expect(transferred).toBeLessThanOrEqual(0.55 * SIZE);
    expect(await sha256OfFile(join(out, name))).toBe(sha256(data));
    expect(await readdir(out)).toEqual([name]);
  });
});
