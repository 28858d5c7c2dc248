import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startRedis, startVsftpd, type RunningRedis, type RunningVsftpd } from '@dl/testkit';
import { parseJsonOutput, runDl, startDl, type RunningDl } from './run-dl.js';

// The size (3,000 HTTP + 500 FTP files) with DL_FLEET_FULL=1. By
// default a fifth of it (600 + 100): on this shared two-core machine the full
// size ran for minutes, dominated by starting five Node processes and
// hashing, not by the fleet. What is checked is the same.
const FULL = process.env.DL_FLEET_FULL === '1';
const HTTP_FILES = FULL ? 3000 : 600;
const FTP_FILES = FULL ? 500 : 100;

function content(name: string, size: number): Buffer {
  const seed = Buffer.from(`${name}\n`);
  const data = Buffer.alloc(size);
  for (let i = 0; i < size; i += seed.length) seed.copy(data, i);
  return data;
}

const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');

/** An HTTP server of `/f/NAME?size=N` files that counts, server-side, requests in flight and open sockets. */
interface CountingServer {
  readonly origin: string;
  readonly server: Server;
  readonly maxActive: number;
  readonly maxSockets: number;
  readonly requests: number;
  close(): Promise<void>;
}

async function startCountingServer(
  options: { bytesPerSecond?: number } = {},
): Promise<CountingServer> {
  let active = 0;
  let sockets = 0;
  const state = { maxActive: 0, maxSockets: 0, requests: 0 };
  const server = createServer((req, res) => {
    state.requests++;
    active++;
    state.maxActive = Math.max(state.maxActive, active);
    res.once('close', () => active--);
    const url = new URL(req.url ?? '/', 'http://x');
    if (!url.pathname.startsWith('/f/')) {
      res.writeHead(404).end();
      return;
    }
    const size = Number(url.searchParams.get('size') ?? '1024');
    const data = content(url.pathname, size);
    res.writeHead(200, {
      'content-length': String(size),
      'content-type': 'application/octet-stream',
    });
    if (options.bytesPerSecond === undefined) {
      res.end(data);
      return;
    }
    // Slowly: 16 KiB at a time, so transfers stay in flight.
    const step = 16 * 1024;
    const delay = Math.round((step * 1000) / options.bytesPerSecond);
    let at = 0;
    const next = () => {
      if (res.destroyed) return;
      const piece = data.subarray(at, at + step);
      at += piece.length;
      if (at >= data.length) res.end(piece);
      else {
        res.write(piece);
        setTimeout(next, delay);
      }
    };
    next();
  });
  server.on('connection', (socket) => {
    sockets++;
    state.maxSockets = Math.max(state.maxSockets, sockets);
    socket.once('close', () => sockets--);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    server,
    get maxActive() {
      return state.maxActive;
    },
    get maxSockets() {
      return state.maxSockets;
    },
    get requests() {
      return state.requests;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Samples `count` every few ms and keeps the maximum. */
function sampleMax(count: () => number, everyMs = 10): { readonly max: number; stop(): number } {
  let max = count();
  const timer = setInterval(() => (max = Math.max(max, count())), everyMs);
  return {
    get max() {
      return max;
    },
    stop() {
      clearInterval(timer);
      max = Math.max(max, count());
      return max;
    },
  };
}

function startWorkers(n: number, queue: string, cwd: string, extra: string[] = []): RunningDl[] {
  return Array.from({ length: n }, () =>
    startDl(['worker', '--queue', queue, ...extra], { cwd, timeoutMs: 600_000 }),
  );
}

async function stopWorkers(workers: RunningDl[]): Promise<void> {
  for (const worker of workers) if (worker.child.exitCode === null) worker.child.kill('SIGTERM');
  await Promise.all(workers.map((worker) => worker.done));
}

/** Files named *.dl-part anywhere under `dir`. */
async function tempFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  return entries.filter((name) => name.endsWith('.dl-part'));
}

/** Checks every file of `expected` (path → sha256) by hashing it again. */
async function expectFilesValid(expected: Map<string, string>): Promise<void> {
  const wrong: string[] = [];
  for (const [path, digest] of expected) {
    const data = await readFile(path).catch(() => undefined);
    if (data === undefined || sha256(data) !== digest) wrong.push(path);
  }
  expect(wrong).toEqual([]);
}

describe('dl get --queue and dl worker (a fleet on Redis)', () => {
  let redis: RunningRedis;
  let ftpd: RunningVsftpd;
  let dir: string;

  beforeAll(async () => {
    [redis, ftpd] = await Promise.all([startRedis(), startVsftpd()]);
    dir = await mkdtemp(join(tmpdir(), 'dl-fleet-'));
  });

  afterAll(async () => {
    await Promise.all([redis?.stop(), ftpd?.stop()]);
    if (dir !== undefined) await rm(dir, { recursive: true, force: true });
  });

  it(
    `4 workers, per-host 4: ${HTTP_FILES} HTTP + ${FTP_FILES} FTP files, each valid and reported once, never over 4 connections at once per server`,
    { timeout: FULL ? 900_000 : 300_000 },
    async () => {
      const web = await startCountingServer();
      const out = join(dir, 'big');
      await mkdir(join(ftpd.root, 'big'), { recursive: true });
      const expected = new Map<string, string>();
      const lines: string[] = [];
      const ftpLines: string[] = [];
      for (let i = 0; i < HTTP_FILES; i++) {
        const size = 2048 + (i % 7) * 1000;
        const digest = sha256(content(`/f/h${i}`, size));
        const path = `http/${i % 10}/h${i}`;
        expected.set(join(out, path), digest);
        lines.push(
          JSON.stringify({
            url: `${web.origin}/f/h${i}?size=${size}`,
            path,
            size,
            digests: { sha256: digest },
          }),
        );
      }
      for (let i = 0; i < FTP_FILES; i++) {
        const data = content(`ftp ${i}`, 3000 + i);
        await writeFile(join(ftpd.root, 'big', `g${i}`), data);
        const path = `ftp/g${i}`;
        expected.set(join(out, path), sha256(data));
        ftpLines.push(
          JSON.stringify({
            url: ftpd.url(`big/g${i}`),
            path,
            size: data.length,
            digests: { sha256: sha256(data) },
          }),
        );
      }
      // Interleaved, so both servers are busy at once.
      const every = Math.floor(HTTP_FILES / FTP_FILES);
      const manifest = lines.flatMap((line, i) =>
        i % every === 0 && ftpLines.length > 0 ? [line, ftpLines.pop()!] : [line],
      );
      manifest.push(...ftpLines);
      await writeFile(join(dir, 'big.jsonl'), manifest.join('\n') + '\n');

      const ftpControl = ftpd.watchConnections(5);
      const ftpData = sampleMax(() => ftpd.dataConnections(), 20);
      const workers = startWorkers(4, redis.url, dir);
      const started = Date.now();
      try {
        const run = await runDl(
          ['get', '-i', 'big.jsonl', '-o', out, '--queue', redis.url, '--per-host', '4', '--json'],
          { cwd: dir, timeoutMs: FULL ? 850_000 : 280_000 },
        );
        const seconds = (Date.now() - started) / 1000;
        const control = ftpControl.stop();
        const data = ftpData.stop();
        console.log(
          `fleet: ${HTTP_FILES}+${FTP_FILES} files in ${seconds.toFixed(1)} s; HTTP peak ${web.maxActive} requests / ${web.maxSockets} sockets; FTP peak ${control} control / ${data} data connections`,
        );
        expect(run.stderr).not.toMatch(/unexpected/);
        expect(run.code, run.stderr).toBe(0);
        const { records, summary } = parseJsonOutput(run.stdout);
        expect(records).toHaveLength(HTTP_FILES + FTP_FILES);
        const paths = records.map((record) => record.path as string);
        expect(new Set(paths).size).toBe(paths.length);
        expect(new Set(paths)).toEqual(new Set(expected.keys()));
        expect(records.every((record) => record.ok === true)).toBe(true);
        expect(summary).toMatchObject({ ok: HTTP_FILES + FTP_FILES, failed: 0, invalid: 0 });
        await expectFilesValid(expected);
        expect(await tempFiles(out)).toEqual([]);
        // Server-side: never more than 4 transfers at once, from all four workers together.
        expect(web.maxActive).toBeLessThanOrEqual(4);
        expect(data).toBeLessThanOrEqual(4);
        // And never more than 4 connections, idle ones included: the Redis budget leases
        // connections, each held from before it opens until it closes. HTTP: sockets
        // established, counted by the server's own 'connection'/'close' events. FTP: control
        // connections (the logged-in sessions), sampled every 5 ms; data connections come and
        // go within a transfer on their control connection, so they are bounded by it.
        expect(control).toBeLessThanOrEqual(4);
        expect(web.maxSockets).toBeLessThanOrEqual(4);
      } finally {
        await stopWorkers(workers);
        await web.close();
      }
      for (const worker of workers) {
        expect(worker.output().stderr).toMatch(/chunk \S+ of run \S+: \d+ files/);
      }
    },
  );

  it(
    'a worker killed with -9 mid-transfer: its chunk is redone elsewhere, every file valid and reported once, no temp left',
    { timeout: 240_000 },
    async () => {
      // Slow transfers (256 KiB at ~1 MiB/s), so a worker always has some in flight.
      const web = await startCountingServer({ bytesPerSecond: 1024 * 1024 });
      const out = join(dir, 'kill');
      const expected = new Map<string, string>();
      const lines: string[] = [];
      const size = 256 * 1024;
      // 3 chunks of 100: one per worker.
      for (let i = 0; i < 300; i++) {
        const digest = sha256(content(`/f/k${i}`, size));
        expected.set(join(out, `k${i}`), digest);
        lines.push(
          JSON.stringify({
            url: `${web.origin}/f/k${i}?size=${size}`,
            path: `k${i}`,
            size,
            digests: { sha256: digest },
          }),
        );
      }
      await writeFile(join(dir, 'kill.jsonl'), lines.join('\n') + '\n');
      const queue = ['--name', 'killq'];
      // Each worker runs 2 at once, 3 workers: 6 = the per-host limit, so each always has transfers in flight.
      const workers = startWorkers(3, redis.url, dir, [
        ...queue,
        '-j',
        '2',
        '--lock-duration',
        '4',
      ]);
      const started = Date.now();
      try {
        const get = startDl(
          [
            'get',
            '-i',
            'kill.jsonl',
            '-o',
            out,
            '--queue',
            redis.url,
            ...queue,
            '--per-host',
            '6',
            '--json',
          ],
          { cwd: dir, timeoutMs: 220_000 },
        );
        // Every worker has taken its chunk and downloaded a little.
        const deadline = Date.now() + 60_000;
        while (
          workers.some((worker) => !/taking chunks/.test(worker.output().stderr)) ||
          web.requests < 40
        ) {
          if (Date.now() > deadline) throw new Error('the workers did not start');
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        const victim = workers[0]!;
        victim.child.kill('SIGKILL');
        const run = await get.done;
        console.log(
          `fleet kill -9: 300 files of 256 KiB in ${((Date.now() - started) / 1000).toFixed(1)} s; HTTP peak ${web.maxActive} requests`,
        );
        expect(run.code, run.stderr).toBe(0);
        const { records, summary } = parseJsonOutput(run.stdout);
        expect(records).toHaveLength(300);
        const paths = records.map((record) => record.path as string);
        expect(new Set(paths)).toEqual(new Set(expected.keys()));
        expect(records.every((record) => record.ok === true)).toBe(true);
        expect(summary).toMatchObject({ ok: 300, failed: 0 });
        await expectFilesValid(expected);
        expect(await tempFiles(out)).toEqual([]);
        expect(web.maxActive).toBeLessThanOrEqual(6);
        // Another worker redid the dead one's chunk.
        const log = workers
          .slice(1)
          .map((worker) => worker.output().stderr)
          .join('');
        expect(log).toMatch(/\(start [2-9]\)/);
      } finally {
        await stopWorkers(workers);
        await web.close();
      }
    },
  );

  it('--json prints the same records and summary as a local run, and exit 1 when a file 404s', async () => {
    const web = await startCountingServer();
    const workers = startWorkers(1, redis.url, dir, ['--name', 'shapeq']);
    try {
      const good = content('/f/good', 5000);
      const manifest =
        [
          JSON.stringify({
            url: `${web.origin}/f/good?size=5000`,
            path: 'good',
            digests: { sha256: sha256(good) },
          }),
          `${web.origin}/missing`,
          JSON.stringify({ url: `${web.origin}/f/plain?size=100`, path: 'plain' }),
        ].join('\n') + '\n';
      await writeFile(join(dir, 'shape.jsonl'), manifest);
      const local = await runDl(['get', '-i', 'shape.jsonl', '-o', 'local', '--json'], {
        cwd: dir,
      });
      const fleet = await runDl(
        [
          'get',
          '-i',
          'shape.jsonl',
          '-o',
          'fleet',
          '--json',
          '--queue',
          redis.url,
          '--name',
          'shapeq',
        ],
        { cwd: dir },
      );
      expect(local.code).toBe(1);
      expect(fleet.code, fleet.stderr).toBe(1);
      const a = parseJsonOutput(local.stdout);
      const b = parseJsonOutput(fleet.stdout);
      const byLine = (records: Record<string, unknown>[]) =>
        [...records].sort((x, y) => (x.line as number) - (y.line as number));
      const strip = (record: Record<string, unknown>) => ({
        ...record,
        path: (record.path as string).replace(/\/(local|fleet)\//, '/X/'),
      });
      expect(byLine(b.records).map(strip)).toEqual(byLine(a.records).map(strip));
      for (const [x, y] of byLine(a.records).map((record, i) => [record, byLine(b.records)[i]!])) {
        expect(Object.keys(y!)).toEqual(Object.keys(x!));
      }
      expect(Object.keys(b.summary)).toEqual(Object.keys(a.summary));
      const { durationMs: _a, ...localSummary } = a.summary;
      const { durationMs: _b, ...fleetSummary } = b.summary;
      expect(fleetSummary).toEqual(localSummary);
      expect(b.records.find((record) => record.line === 2)).toMatchObject({
        ok: false,
        error: { code: 'not-found' },
      });
      // The second time, everything valid is already there: reported as such.
      const again = await runDl(
        [
          'get',
          '-i',
          'shape.jsonl',
          '-o',
          'fleet',
          '--json',
          '--queue',
          redis.url,
          '--name',
          'shapeq',
        ],
        { cwd: dir },
      );
      expect(parseJsonOutput(again.stdout).summary).toMatchObject({ skipped: 1 });
      expect(again.stderr).toMatch(/already valid/);
    } finally {
      await stopWorkers(workers);
      await web.close();
    }
  });

  it('refuses inline credentials and a bad --queue with exit 2, before touching Redis', async () => {
    const inline = await runDl(
      [
        'get',
        'http://127.0.0.1:9/a',
        '-H',
        'X-Api-Key: s3cret',
        '--queue',
        'redis://127.0.0.1:9/0',
      ],
      { cwd: dir },
    );
    expect(inline.code).toBe(2);
    expect(inline.stderr).toMatch(/--header X-Api-Key/);
    expect(inline.stderr).not.toMatch(/s3cret/);
    const bad = await runDl(['get', 'http://127.0.0.1:9/a', '--queue', 'http://x'], { cwd: dir });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--queue/);
  });
});
