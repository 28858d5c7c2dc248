import { http } from '@dl/http';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
  type Streamer,
} from '../../src/index.js';
import { fetchRaw, openRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 3 * 1024 * 1024;
const files = new Map(
  ['/a.bin', '/b.bin', '/c.bin', '/d.bin', '/e.bin'].map((p) => [p, generatedContent(p, SIZE)]),
);
const digest = (path: string) => sha256(files.get(path)!);

let upstream: HttpFixture;
let factory: DownloaderFactory;
let streamer: Streamer;
let server: StreamerServer;

beforeAll(async () => {
  upstream = await startHttpFixture({ chunkSize: 64 * 1024 });
  for (const [path, data] of files) upstream.put(path, data);
  factory = createDownloaderFactory({ adapters: [http()], limits: { total: 64, perHost: 32 } });
  streamer = createStreamer({ downloader: factory, replayBytes: 1024 * 1024 });
  server = await startStreamerServer(streamer, (path) => ({
    url: upstream.url(path),
    size: SIZE,
    digests: { sha256: digest(path) },
  }));
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await upstream.stop();
});

const upstreamGets = (path: string) =>
  upstream.requests().filter((r) => r.path === path && r.method === 'GET').length;

describe('single-flight fan-out', () => {
  it('20 identical concurrent requests cause one upstream transfer, and each client gets the whole file', async () => {
    // The upstream answers only once all 20 requests are in the streamer (each
    // joins or starts the flight as it is handed over), however slow the machine.
    let release!: () => void;
    upstream.fault('/a.bin', { holdUntil: new Promise<void>((resolve) => (release = resolve)) });
    const before = server.received();
    const outcomes = server.nextOutcomes(20);
    const pending = Promise.all(Array.from({ length: 20 }, () => fetchRaw(server.url('/a.bin'))));
    await waitFor(() => server.received() - before >= 20, 20_000);
    release();
    const results = await pending;
    expect(upstreamGets('/a.bin')).toBe(1);
    for (const got of results) {
      expect(got.status).toBe(200);
      expect(got.complete).toBe(true);
      expect(sha256(got.body)).toBe(digest('/a.bin'));
    }
    const sources = (await outcomes).map((o) => o.source).sort();
    expect(sources.filter((s) => s === 'upstream')).toHaveLength(1);
    expect(sources.filter((s) => s === 'shared')).toHaveLength(19);
    expect(streamer.shareable).toBe(0);
  });

  it('a late request joins while the bytes received fit the replay budget, and starts its own download past it', async () => {
    // Bytes trickle: 512 KiB, then a pause, then the rest.
    upstream.fault('/b.bin', { stallAfter: 512 * 1024, stallMs: 400 });
    const first = openRaw(server.url('/b.bin'));
    const firstClient = await first;
    await new Promise((resolve) => firstClient.res.once('data', resolve));
    const late = await fetchRaw(server.url('/b.bin'));
    expect(late.complete).toBe(true);
    expect(sha256(late.body)).toBe(digest('/b.bin'));
    expect(upstreamGets('/b.bin')).toBe(1);
    firstClient.destroy();

    // Past the 1 MiB replay budget the flight no longer takes newcomers.
    upstream.fault('/c.bin', { stallAfter: 2 * 1024 * 1024, stallMs: 400 });
    const slowStart = await openRaw(server.url('/c.bin'));
    let received = 0;
    slowStart.res.on('data', (chunk: Buffer) => (received += chunk.byteLength));
    await waitFor(() => received >= 1.5 * 1024 * 1024, 2000);
    const second = await fetchRaw(server.url('/c.bin'));
    expect(second.complete).toBe(true);
    expect(sha256(second.body)).toBe(digest('/c.bin'));
    expect(upstreamGets('/c.bin')).toBe(2);
    slowStart.destroy();
  });

  it('one client leaving does not disturb the others; the last one leaving aborts the upstream', async () => {
    upstream.fault('/d.bin', { stallMs: 200 });
    const quitter = await openRaw(server.url('/d.bin')).then(async (c) => {
      await new Promise((resolve) => c.res.once('data', resolve));
      return c;
    });
    // Requests issued before the first byte all share the flight; one leaves early.
    const stayers = Promise.all([fetchRaw(server.url('/d.bin')), fetchRaw(server.url('/d.bin'))]);
    quitter.destroy();
    for (const got of await stayers) {
      expect(got.complete).toBe(true);
      expect(sha256(got.body)).toBe(digest('/d.bin'));
    }

    const lone = await startHttpFixture({ chunkSize: 16 * 1024 });
    lone.put('/e.bin', files.get('/e.bin')!);
    lone.fault('/e.bin', { stallAfter: 128 * 1024, stallMs: 30_000 });
    const front = await startStreamerServer(streamer, () => ({ url: lone.url('/e.bin') }));
    try {
      const clients = await Promise.all([openRaw(front.url('/e')), openRaw(front.url('/e'))]);
      expect(lone.stats().totalRequests).toBe(1);
      clients[0]!.destroy();
      await new Promise((resolve) => setTimeout(resolve, 200));
      expect(lone.stats().connections).toBe(1);
      clients[1]!.destroy();
      await waitFor(() => lone.stats().connections === 0, 1000);
    } finally {
      await front.stop();
      await lone.stop();
    }
  });

  it('does not share requests that differ in expectations, or that ask for a range', async () => {
    const before = upstreamGets('/a.bin');
    upstream.fault('/a.bin', { stallMs: 200 });
    const plain = createStreamer({ downloader: factory });
    const front = await startStreamerServer(plain, (path) =>
      path === '/sized'
        ? { url: upstream.url('/a.bin'), size: SIZE }
        : { url: upstream.url('/a.bin') },
    );
    try {
      const [a, b, c] = await Promise.all([
        fetchRaw(front.url('/sized')),
        fetchRaw(front.url('/any')),
        fetchRaw(front.url('/any'), { headers: { range: 'bytes=0-99' } }),
      ]);
      expect(a.complete && b.complete && c.complete).toBe(true);
      expect(c.status, c.body.toString()).toBe(206);
      expect(upstreamGets('/a.bin')).toBe(before + 3);
    } finally {
      await front.stop();
    }
  });
});
