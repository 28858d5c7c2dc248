import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { http } from '@dl/http';
import { generatedContent } from '@dl/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
  type StreamTarget,
} from '../../src/index.js';
import { fetchRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 4 * 1024 * 1024;
const HALF = SIZE / 2;
const V1 = generatedContent('/v1.bin', SIZE);
const V2 = generatedContent('/v2.bin', SIZE);

/** How the upstream behaves for the next requests. */
interface Behaviour {
  /** Cut the socket of the first request after this many body bytes. */
  cutAt?: number;
  /** Answer `Range` with 206 (honouring `If-Range`); otherwise ignore it and send 200. */
  ranges: boolean;
  /** Send an ETag. */
  etag: boolean;
  /** Once the first request was cut, serve other bytes under another ETag. */
  changeAfterCut: boolean;
}

interface Logged {
  readonly range: string | undefined;
  readonly ifRange: string | undefined;
  readonly status: number;
}

/**
 * A real node:http upstream serving one 4 MiB file with an ETag and Range
 * support, which kills the socket of its first response at `cutAt` bytes
 * (once they were handed to the kernel) and logs every request it answers.
 */
class Upstream {
  readonly log: Logged[] = [];
  behaviour: Behaviour = { ranges: true, etag: true, changeAfterCut: false };
  #data: Uint8Array = V1;
  #etag = '"v1"';
  #cut = false;
  readonly #server: Server = createServer((req, res) => void this.#answer(req, res));
  origin = '';

  async start(): Promise<void> {
    await new Promise<void>((resolve) => this.#server.listen(0, '127.0.0.1', resolve));
    this.origin = `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`;
  }

  reset(behaviour: Partial<Behaviour>): void {
    this.behaviour = { ranges: true, etag: true, changeAfterCut: false, ...behaviour };
    this.log.length = 0;
    this.#data = V1;
    this.#etag = '"v1"';
    this.#cut = false;
  }

  stop(): Promise<void> {
    this.#server.closeAllConnections();
    return new Promise((resolve) => this.#server.close(() => resolve()));
  }

  async #answer(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const { ranges, etag, cutAt } = this.behaviour;
    const data = this.#data;
    const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
    if (etag) headers.etag = this.#etag;
    if (ranges) headers['accept-ranges'] = 'bytes';
    const asked = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
    const ifRange = req.headers['if-range'];
    const partial =
      ranges && asked !== null && (ifRange === undefined || ifRange === this.#etag)
        ? Number(asked[1])
        : undefined;
    const start = partial ?? 0;
    if (partial !== undefined) headers['content-range'] = `bytes ${start}-${SIZE - 1}/${SIZE}`;
    headers['content-length'] = String(SIZE - start);
    const status = partial === undefined ? 200 : 206;
    this.log.push({ range: req.headers.range, ifRange, status });
    res.writeHead(status, headers);
    const stopAt = cutAt !== undefined && !this.#cut ? cutAt : SIZE;
    for (let at = start; at < stopAt;) {
      const end = Math.min(stopAt, at + 64 * 1024);
      const flushed = new Promise<void>((resolve) =>
        res.write(data.subarray(at, end), () => resolve()),
      );
      // Waits for the kernel to take the bytes, so the cut falls exactly at `stopAt`.
      await flushed;
      if (res.destroyed) return;
      at = end;
    }
    if (stopAt < SIZE) {
      this.#cut = true;
      if (this.behaviour.changeAfterCut) {
        this.#data = V2;
        this.#etag = '"v2"';
      }
      res.socket?.destroy();
      return;
    }
    res.end();
  }
}

let upstream: Upstream;
let factory: DownloaderFactory;
let server: StreamerServer;
const targets = new Map<string, StreamTarget>();

beforeAll(async () => {
  upstream = new Upstream();
  await upstream.start();
  factory = createDownloaderFactory({
    adapters: [http()],
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
  });
  server = await startStreamerServer(createStreamer({ downloader: factory }), (path) =>
    targets.get(path),
  );
  const url = `${upstream.origin}/file.bin`;
  targets.set('/checked.bin', { url, size: SIZE, digests: { sha256: sha256(V1) } });
  targets.set('/unchecked.bin', { url });
});

afterEach(() => upstream.reset({}));

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await upstream.stop();
});

describe('streamer: an upstream that dies mid-body', () => {
  it('resumes at the exact offset with Range and If-Range: the client gets one complete, valid 200', async () => {
    upstream.reset({ cutAt: HALF });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/checked.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(got.headers['content-length']).toBe(String(SIZE));
    expect(got.body.byteLength).toBe(SIZE);
    expect(sha256(got.body)).toBe(sha256(V1));
    expect(upstream.log).toEqual([
      { range: undefined, ifRange: undefined, status: 200 },
      { range: `bytes=${HALF}-`, ifRange: '"v1"', status: 206 },
    ]);
    expect((await outcome)[0]).toMatchObject({ ok: true, status: 200, bytes: SIZE });
  });

  it('every client of a shared download sees one uninterrupted body (the resume happens once, below them)', async () => {
    upstream.reset({ cutAt: HALF });
    const outcomes = server.nextOutcomes(2);
    const got = await Promise.all([
      fetchRaw(server.url('/checked.bin')),
      fetchRaw(server.url('/checked.bin')),
    ]);
    for (const one of got) {
      expect(one.complete).toBe(true);
      expect(sha256(one.body)).toBe(sha256(V1));
    }
    expect((await outcomes).map((o) => o.source).sort()).toEqual(['shared', 'upstream']);
    expect(upstream.log.map((l) => l.range)).toEqual([undefined, `bytes=${HALF}-`]);
  });

  it('the ETag changed between the two requests: the client connection is reset, never a complete-looking body', async () => {
    upstream.reset({ cutAt: HALF, changeAfterCut: true });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/checked.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(false);
    expect(got.body.byteLength).toBeLessThan(SIZE);
    expect(Buffer.compare(got.body, Buffer.from(V1.subarray(0, got.body.byteLength)))).toBe(0);
    // If-Range failed, the upstream answered the whole new file: no further attempt.
    expect(upstream.log).toEqual([
      { range: undefined, ifRange: undefined, status: 200 },
      { range: `bytes=${HALF}-`, ifRange: '"v1"', status: 200 },
    ]);
    const [result] = await outcome;
    expect(result).toMatchObject({ ok: false, status: 200, error: { code: 'protocol-error' } });
    expect(result?.error?.message).toContain('cannot be continued');
  });

  it('an upstream without Range support (it answers 200 again): reset', async () => {
    upstream.reset({ cutAt: HALF, ranges: false });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/checked.bin'));
    expect(got.complete).toBe(false);
    expect(got.body.byteLength).toBeLessThan(SIZE);
    expect(upstream.log.map((l) => [l.range, l.status])).toEqual([
      [undefined, 200],
      [`bytes=${HALF}-`, 200],
    ]);
    expect((await outcome)[0]).toMatchObject({ ok: false, error: { code: 'protocol-error' } });
  });

  it('without a validator, digests over the whole file are the proof', async () => {
    upstream.reset({ cutAt: HALF, etag: false });
    const got = await fetchRaw(server.url('/checked.bin'));
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(sha256(V1));
    expect(upstream.log.map((l) => [l.range, l.ifRange])).toEqual([
      [undefined, undefined],
      [`bytes=${HALF}-`, undefined],
    ]);
  });

  it('with neither a validator nor digests nothing proves a resume: reset without asking again', async () => {
    upstream.reset({ cutAt: HALF, etag: false });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/unchecked.bin'));
    expect(got.complete).toBe(false);
    expect(got.body.byteLength).toBeLessThanOrEqual(HALF);
    expect(upstream.log).toHaveLength(1);
    // The cut itself is the error: no resume was tried.
    const [result] = await outcome;
    expect(result).toMatchObject({ ok: false, status: 200 });
    expect(result?.error?.message).not.toContain('cannot be continued');
  });
});
