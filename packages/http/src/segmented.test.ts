import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
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
  sent: number;
}

interface ServerOptions {
  /** Bytes per second per response. */
  readonly rate: number;
  /** Answer every request with the whole file (a server that ignores Range). */
  readonly ignoreRange?: boolean;
  /** Cuts the connection of the first response whose range starts at `start` after `after` bytes. */
  readonly kill?: { readonly start: number; readonly after: number };
}

/** A loopback server with Range support and a per-response rate cap; it logs every request. */
async function rangeServer(data: Buffer, options: ServerOptions) {
  const log: Served[] = [];
  const sockets = new Set<Socket>();
  let maxSockets = 0;
  let active = 0;
  let maxActive = 0;
  let killed = false;
  /**
   * Connections that carried a request and are still open. Counted from their first request,
   * not from their accept: a connection the client closed can still be open here when the
   * next one is accepted in the same turn of the event loop.
   */
  const carrying = new Set<Socket>();
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    carrying.add(req.socket);
    maxSockets = Math.max(maxSockets, carrying.size);
    const header = req.headers.range;
    const match = options.ignoreRange ? null : /^bytes=(\d+)-(\d*)$/.exec(header ?? '');
    const first = match ? Number(match[1]) : 0;
    const last = match && match[2] !== '' ? Number(match[2]) : data.length - 1;
    const entry: Served = { range: header, status: match ? 206 : 200, sent: 0 };
    log.push(entry);
    res.writeHead(entry.status, {
      'content-length': last - first + 1,
      'accept-ranges': 'bytes',
      etag: '"v1"',
      ...(match ? { 'content-range': `bytes ${first}-${last}/${data.length}` } : {}),
    });
    const cut =
      options.kill !== undefined && !killed && match !== null && first === options.kill.start
        ? options.kill.after
        : Infinity;
    if (cut !== Infinity) killed = true;
    active++;
    maxActive = Math.max(maxActive, active);
    let position = first;
    const started = Date.now();
    const tick = () => {
      if (res.destroyed) return done();
      const allowed = Math.floor(((Date.now() - started) / 1000) * options.rate) - entry.sent;
      const take = Math.min(allowed, last + 1 - position, cut - entry.sent);
      if (take > 0) {
        res.write(data.subarray(position, position + take));
        position += take;
        entry.sent += take;
      }
      if (entry.sent >= cut) {
        req.socket.destroy();
        return done();
      }
      if (position > last) {
        res.end();
        return done();
      }
      setTimeout(tick, 5);
    };
    let ended = false;
    const done = () => {
      if (ended) return;
      ended = true;
      active--;
    };
    res.on('close', done);
    tick();
  });
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.on('close', () => {
      sockets.delete(socket);
      carrying.delete(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  );
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/file.bin`,
    log,
    /** The most connections that carried requests at once. */
    get maxSockets() {
      return maxSockets;
    },
    get maxActive() {
      return maxActive;
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
    const rate = Number(process.env.DL_SPLIT_TEST_RATE_MIB ?? 16) * MiB;
    const data = randomBytes(size);
    const single = await rangeServer(data, { rate });
    const one = await fetchOnce(single.url, data, {});
    const split = await rangeServer(data, { rate });
    const four = await fetchOnce(split.url, data, { split: 4 });
    console.log(
      `split: ${size / MiB} MiB at ${rate / MiB} MiB/s per connection: single ${one.wall.toFixed(0)} ms, --split 4 ${four.wall.toFixed(0)} ms (${(four.wall / one.wall).toFixed(3)}×)`,
    );
    expect(single.log).toHaveLength(1);
    expect(split.log.map((s) => s.range)).toEqual([
      undefined,
      `bytes=${size / 4}-${size / 2 - 1}`,
      `bytes=${size / 2}-${(3 * size) / 4 - 1}`,
      `bytes=${(3 * size) / 4}-${size - 1}`,
    ]);
    // The prefix stops where the first segment starts.
    expect(split.log[0]!.sent).toBeLessThan(size / 4 + 4 * MiB);
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
    const ranges = server.log.map((s) => s.range);
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
    expect(server.log.every((s) => s.status === 200)).toBe(true);
    // The first connection carried the whole file; the range requests were dropped early.
    expect(server.log[0]!.sent).toBe(size);
    for (const later of server.log.slice(1)) expect(later.sent).toBeLessThan(size);
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
    expect(server.log).toHaveLength(4);
    expect(server.maxActive).toBeLessThanOrEqual(2);
    expect(server.maxSockets).toBeLessThanOrEqual(2);
  }, 60_000);

  it('does not split a file smaller than two segments', async () => {
    const data = randomBytes(3 * MiB);
    const server = await rangeServer(data, { rate: 64 * MiB });
    await fetchOnce(server.url, data, { split: 4, splitMinSize: 2 * MiB });
    expect(server.log).toHaveLength(1);
  }, 60_000);
});
