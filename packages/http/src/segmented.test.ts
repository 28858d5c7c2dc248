import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Worker } from 'node:worker_threads';
import { afterEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory, type DownloaderFactoryOptions } from '@dl/core';
import { http } from './index.js';

const MiB = 1024 * 1024;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

interface Served {
  readonly range: string | undefined;
  readonly status: number;
  /** Body bytes sent before the response ended or was cut. */
  readonly sent: number;
}

interface ServerOptions {
  /** Bytes per second per response. */
  readonly rate: number;
  /** Answer every request with the whole file (a server that ignores Range). */
  readonly ignoreRange?: boolean;
  /** Cuts the connection of the first response whose range starts at `start` after `after` bytes. */
  readonly kill?: { readonly start: number; readonly after: number };
}

/** Starts `range-server.mjs` in a worker thread serving `data`. */
async function rangeServer(data: Buffer, options: ServerOptions) {
  const shared = new SharedArrayBuffer(data.length);
  Buffer.from(shared).set(data);
  const worker = new Worker(new URL('./test-support/range-server.mjs', import.meta.url), {
    workerData: { data: shared, options },
  });
  const { port } = await new Promise<{ port: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  cleanup.push(async () => {
    worker.postMessage('stop');
    await new Promise((resolve) => worker.once('exit', resolve));
  });
  return {
    url: `http://127.0.0.1:${port}/file.bin`,
    /** Every request so far, and the most connections that carried requests at once. */
    report(): Promise<{ log: Served[]; maxSockets: number; maxActive: number }> {
      worker.postMessage('log');
      return new Promise((resolve) => worker.once('message', resolve));
    },
  };
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dl-split-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function fetchOnce(
  url: string,
  data: Buffer,
  options: Partial<DownloaderFactoryOptions> & { split?: number },
) {
  const dir = await tempDir();
  const factory = createDownloaderFactory({ adapters: [http()], ...options });
  cleanup.push(() => factory.close());
  const sha256 = createHash('sha256').update(data).digest('hex');
  const destination = join(dir, 'file.bin');
  const started = performance.now();
  const result = await factory.download({ url, destination, digests: { sha256 } });
  const wall = performance.now() - started;
  expect(result.digests.sha256).toBe(sha256);
  expect((await readFile(destination)).equals(data)).toBe(true);
  expect(await readdir(dir)).toEqual(['file.bin']);
  return { result, wall };
}

describe('segmented download (split)', () => {
  it('splits one rate-capped file over 4 connections in at most 0.35× the single-connection time', async () => {
    const size = Number(process.env.DL_SPLIT_TEST_MIB ?? 64) * MiB;
    const rate = Number(process.env.DL_SPLIT_TEST_RATE_MIB ?? 8) * MiB;
    const data = randomBytes(size);
    const single = await rangeServer(data, { rate });
    const one = await fetchOnce(single.url, data, {});
    const split = await rangeServer(data, { rate });
    const four = await fetchOnce(split.url, data, { split: 4 });
    console.log(
      `split: ${size / MiB} MiB at ${rate / MiB} MiB/s per connection: single ${one.wall.toFixed(0)} ms, --split 4 ${four.wall.toFixed(0)} ms (${(four.wall / one.wall).toFixed(3)}×)`,
    );
    expect((await single.report()).log).toHaveLength(1);
    const { log } = await split.report();
    expect(log.map((s) => s.range)).toEqual([
      undefined,
      `bytes=${size / 4}-${size / 2 - 1}`,
      `bytes=${size / 2}-${(3 * size) / 4 - 1}`,
      `bytes=${(3 * size) / 4}-${size - 1}`,
    ]);
    // The prefix stops where the first segment starts.
    expect(log[0]!.sent).toBeLessThan(size / 4 + 4 * MiB);
    expect(four.wall).toBeLessThanOrEqual(0.35 * one.wall);
  }, 120_000);

  it('resumes only the segment whose connection was cut', async () => {
    const size = 16 * MiB;
    const data = randomBytes(size);
    const server = await rangeServer(data, {
      rate: 16 * MiB,
      kill: { start: size / 2, after: 1 * MiB },
    });
    const { result } = await fetchOnce(server.url, data, {
      split: 4,
      splitMinSize: MiB,
      retry: { baseDelayMs: 10 },
    });
    const ranges = (await server.report()).log.map((s) => s.range);
    expect(ranges).toHaveLength(5);
    expect(ranges.slice(0, 4)).toEqual([
      undefined,
      `bytes=${size / 4}-${size / 2 - 1}`,
      `bytes=${size / 2}-${(3 * size) / 4 - 1}`,
      `bytes=${(3 * size) / 4}-${size - 1}`,
    ]);
    // Only the rest of the cut segment is asked for again.
    const resumed = /^bytes=(\d+)-(\d+)$/.exec(ranges[4]!);
    expect(Number(resumed![1])).toBeGreaterThan(size / 2);
    expect(Number(resumed![1])).toBeLessThanOrEqual(size / 2 + MiB);
    expect(Number(resumed![2])).toBe((3 * size) / 4 - 1);
    expect(result.attempts).toBe(1);
  }, 60_000);

  it('falls back to one connection when the server ignores Range', async () => {
    const size = 16 * MiB;
    const data = randomBytes(size);
    const server = await rangeServer(data, { rate: 32 * MiB, ignoreRange: true });
    const { result } = await fetchOnce(server.url, data, { split: 4, splitMinSize: MiB });
    const { log } = await server.report();
    expect(log.every((s) => s.status === 200)).toBe(true);
    // The first connection carried the whole file; the range requests were dropped early.
    expect(log[0]!.sent).toBe(size);
    for (const later of log.slice(1)) expect(later.sent).toBeLessThan(size);
    expect(result.attempts).toBe(1);
  }, 60_000);

  it('counts segments against the per-host limit', async () => {
    const size = 16 * MiB;
    const data = randomBytes(size);
    const server = await rangeServer(data, { rate: 32 * MiB });
    await fetchOnce(server.url, data, {
      split: 4,
      splitMinSize: MiB,
      limits: { total: 16, perHost: 2 },
    });
    const report = await server.report();
    expect(report.log).toHaveLength(4);
    expect(report.maxActive).toBeLessThanOrEqual(2);
    expect(report.maxSockets).toBeLessThanOrEqual(2);
  }, 60_000);

  it('does not split a file smaller than two segments', async () => {
    const data = randomBytes(3 * MiB);
    const server = await rangeServer(data, { rate: 64 * MiB });
    await fetchOnce(server.url, data, { split: 4, splitMinSize: 2 * MiB });
    expect((await server.report()).log).toHaveLength(1);
  }, 60_000);
});
