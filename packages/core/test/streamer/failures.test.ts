import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { http } from '@dl/http';
import { mirrors } from '@dl/mirrorlist';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
  type StreamTarget,
} from '../../src/index.js';
import { fetchRaw, openRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 2 * 1024 * 1024;
const paths = ['/ok.bin', '/bad.bin', '/flaky.bin', '/cut.bin', '/long.bin', '/mirrored.bin'];
const files = new Map(paths.map((p) => [p, generatedContent(p, SIZE)]));
const expected = (path: string) => {
  const data = files.get(path)!;
  return { size: data.byteLength, digests: { sha256: sha256(data) } };
};

let upstream: HttpFixture;
let mirrorA: HttpFixture;
let mirrorB: HttpFixture;
let factory: DownloaderFactory;
let server: StreamerServer;
let cacheDir: string;
const targets = new Map<string, StreamTarget>();

beforeAll(async () => {
  cacheDir = await mkdtemp(join(tmpdir(), 'dl-streamer-fail-'));
  [upstream, mirrorA, mirrorB] = await Promise.all([
    startHttpFixture({ chunkSize: 16 * 1024 }),
    startHttpFixture(),
    startHttpFixture(),
  ]);
  for (const [path, data] of files) upstream.put(path, data);
  mirrorA.put('/pool/mirrored.bin', files.get('/mirrored.bin')!);
  mirrorB.put('/pool/mirrored.bin', files.get('/mirrored.bin')!);
  factory = createDownloaderFactory({
    adapters: [http()],
    retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
    interceptors: [
      mirrors({ sets: { pool: { mirrors: [mirrorA.url('/pool/'), mirrorB.url('/pool/')] } } }),
    ],
  });
  server = await startStreamerServer(createStreamer({ downloader: factory }), (path) =>
    targets.get(path),
  );
  for (const path of paths) targets.set(path, { url: upstream.url(path), ...expected(path) });
  targets.set('/missing.bin', { url: upstream.url('/missing.bin') });
  targets.set('/mirror/mirrored.bin', {
    url: 'mirror://pool/mirrored.bin',
    ...expected('/mirrored.bin'),
  });
});

afterEach(() => {
  for (const fixture of [upstream, mirrorA, mirrorB]) fixture.clearFaults();
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await Promise.all([upstream.stop(), mirrorA.stop(), mirrorB.stop()]);
  await rm(cacheDir, { recursive: true, force: true });
});

function requestsFor(fixture: HttpFixture, path: string): number {
  return fixture.requests().filter((r) => r.path === path).length;
}

describe('streamer failures', () => {
  it('serves a good file completely', async () => {
    const got = await fetchRaw(server.url('/ok.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(expected('/ok.bin').digests.sha256);
  });

  it('corrupted upstream: the client sees an aborted transfer, never a clean end, and no copy is kept', async () => {
    const cache = join(cacheDir, 'bad.bin');
    targets.set('/bad-cached.bin', {
      url: upstream.url('/bad.bin'),
      ...expected('/bad.bin'),
      cache,
    });
    upstream.fault('/bad.bin', { corruptAt: SIZE - 10, times: Infinity });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/bad-cached.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(false);
    expect(got.body.byteLength).toBeLessThan(SIZE);
    const [result] = await outcome;
    expect(result).toMatchObject({ ok: false, error: { code: 'digest-mismatch' } });
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('a small corrupt file, failed before any body byte was sent: 502 naming the code, to every waiting client, no copy kept', async () => {
    const small = generatedContent('/small.bin', 62 * 1024);
    const corrupt = Buffer.from(small);
    corrupt[100] = corrupt[100]! ^ 0xff;
    // Headers at once, the whole body in one write a little later: both clients share the flight.
    upstream.route('/small-bad.bin', (_req, res) => {
      res.writeHead(200, { 'content-length': String(corrupt.byteLength) });
      setTimeout(() => res.end(corrupt), 150);
    });
    const cache = join(cacheDir, 'small-bad.bin');
    targets.set('/small-bad.bin', {
      url: upstream.url('/small-bad.bin'),
      size: small.byteLength,
      digests: { sha256: sha256(small) },
      cache,
    });
    const outcomes = server.nextOutcomes(2);
    const got = await Promise.all([
      fetchRaw(server.url('/small-bad.bin')),
      fetchRaw(server.url('/small-bad.bin')),
    ]);
    for (const one of got) {
      expect(one.status).toBe(502);
      expect(one.complete).toBe(true);
      expect(one.body.toString()).toContain('digest-mismatch');
    }
    const results = await outcomes;
    expect(results.map((r) => r.source).sort()).toEqual(['shared', 'upstream']);
    for (const result of results) {
      expect(result).toMatchObject({ ok: false, status: 502, bytes: 0 });
      expect(result.error?.code).toBe('digest-mismatch');
    }
    expect(await readdir(cacheDir)).toEqual([]);
  });

  it('a size overrun is caught too, after the first byte', async () => {
    upstream.route('/long-chunked.bin', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      res.write(Buffer.alloc(1000, 1));
      setTimeout(() => res.end(Buffer.alloc(1000, 2)), 50);
    });
    targets.set('/long-chunked.bin', { url: upstream.url('/long-chunked.bin'), size: 1500 });
    const outcome = server.nextOutcomes(1);
    const got = await fetchRaw(server.url('/long-chunked.bin'));
    expect(got.status).toBe(200);
    expect(got.headers['content-length']).toBe('1500');
    expect(got.complete).toBe(false);
    expect((await outcome)[0]).toMatchObject({ ok: false, error: { code: 'size-mismatch' } });
  });

  it('a failure before the first byte is retried transparently (status 503, then a reset before the body)', async () => {
    upstream.fault('/flaky.bin', { status: 503 });
    let got = await fetchRaw(server.url('/flaky.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(expected('/flaky.bin').digests.sha256);
    expect(requestsFor(upstream, '/flaky.bin')).toBe(2);

    upstream.fault('/flaky.bin', { resetAfter: 0 });
    got = await fetchRaw(server.url('/flaky.bin'));
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(expected('/flaky.bin').digests.sha256);
    expect(requestsFor(upstream, '/flaky.bin')).toBe(4);
  });

  it('fails over to the next mirror before the first byte', async () => {
    mirrorA.fault('/pool/mirrored.bin', { status: 503 });
    const got = await fetchRaw(server.url('/mirror/mirrored.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(expected('/mirrored.bin').digests.sha256);
    expect(requestsFor(mirrorA, '/pool/mirrored.bin')).toBe(1);
    expect(requestsFor(mirrorB, '/pool/mirrored.bin')).toBe(1);
  });

  it('puts a mirror that served bad bytes on a cool-down', async () => {
    mirrorA.clearRequests();
    mirrorB.clearRequests();
    const own = createDownloaderFactory({
      adapters: [http()],
      interceptors: [
        mirrors({ sets: { pool: { mirrors: [mirrorA.url('/pool/'), mirrorB.url('/pool/')] } } }),
      ],
    });
    const front = await startStreamerServer(createStreamer({ downloader: own }), () => ({
      url: 'mirror://pool/mirrored.bin',
      ...expected('/mirrored.bin'),
    }));
    try {
      mirrorA.fault('/pool/mirrored.bin', { corruptAt: SIZE - 1 });
      const bad = await fetchRaw(front.url('/x'));
      expect(bad.complete).toBe(false);
      expect(requestsFor(mirrorA, '/pool/mirrored.bin')).toBe(1);
      const again = await fetchRaw(front.url('/x'));
      expect(again.complete).toBe(true);
      expect(sha256(again.body)).toBe(expected('/mirrored.bin').digests.sha256);
      expect(requestsFor(mirrorA, '/pool/mirrored.bin')).toBe(1);
      expect(requestsFor(mirrorB, '/pool/mirrored.bin')).toBe(1);
    } finally {
      await front.stop();
      await own.destroy();
    }
  });

  it('a failure after the first byte resumes at the offset (Range + If-Range): one complete response', async () => {
    upstream.fault('/cut.bin', { resetAfter: 512 * 1024 });
    const got = await fetchRaw(server.url('/cut.bin'));
    expect(got.status).toBe(200);
    expect(got.complete).toBe(true);
    expect(sha256(got.body)).toBe(expected('/cut.bin').digests.sha256);
    const asked = upstream.requests().filter((r) => r.path === '/cut.bin');
    expect(asked).toHaveLength(2);
    expect(asked[1]?.headers.range).toMatch(/^bytes=[1-9]\d*-$/);
    expect(asked[1]?.headers['if-range']).toBeDefined();
  });

  it('answers 404 when the upstream has no such file, 502 when it keeps failing', async () => {
    expect((await fetchRaw(server.url('/missing.bin'))).status).toBe(404);
    upstream.fault('/ok.bin', { status: 500, times: Infinity });
    const got = await fetchRaw(server.url('/ok.bin'));
    expect(got.status).toBe(502);
    expect(got.body.toString()).toContain('remote-unavailable');
  });

  it('a client that disconnects aborts the upstream transfer within a second', async () => {
    const lone = await startHttpFixture({ chunkSize: 16 * 1024 });
    lone.put('/long.bin', files.get('/long.bin')!);
    lone.fault('/long.bin', { stallAfter: 256 * 1024, stallMs: 30_000 });
    targets.set('/lone.bin', { url: lone.url('/long.bin'), ...expected('/long.bin') });
    try {
      const outcome = server.nextOutcomes(1);
      const client = await openRaw(server.url('/lone.bin'));
      await new Promise((resolve) => client.res.once('data', resolve));
      expect(lone.stats().connections).toBe(1);
      const gone = Date.now();
      client.destroy();
      await waitFor(() => lone.stats().connections === 0, 1000);
      expect(Date.now() - gone).toBeLessThan(1000);
      expect((await outcome)[0]).toMatchObject({ ok: false, error: { code: 'aborted' } });
    } finally {
      await lone.stop();
    }
  });
});
