import { http } from '@dl/http';
import { generatedContent, startHttpFixture, waitFor, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
} from '../../src/index.js';
import { fetchRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const DATA = generatedContent('/hdr.bin', 300_000);

let upstream: HttpFixture;
let factory: DownloaderFactory;
let server: StreamerServer;

beforeAll(async () => {
  upstream = await startHttpFixture();
  upstream.route('/hdr.bin', (_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/x-rpm',
      'content-length': String(DATA.byteLength),
      'cache-control': 'public, max-age=60',
      'content-disposition': 'attachment; filename="hdr.bin"',
      etag: '"v1"',
      'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
      'accept-ranges': 'bytes',
      'x-upstream-note': 'kept',
      'x-hop': 'named by Connection',
      connection: 'keep-alive, x-hop',
      'keep-alive': 'timeout=5',
      'set-cookie': 'session=upstream-secret',
      'proxy-authenticate': 'Basic realm="p"',
      'alt-svc': 'h3=":443"',
      'strict-transport-security': 'max-age=100',
    });
    res.end(DATA);
  });
  // Headers, one chunk, then nothing: a streamer that reads the body on HEAD would hang.
  upstream.route('/stalled.bin', (_req, res) => {
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': String(1 << 30) });
    res.write(Buffer.alloc(64 * 1024, 1));
  });
  // The first attempt dies after its headers; the retry serves the bytes with other validators.
  let attempts = 0;
  upstream.route('/retried.bin', (_req, res) => {
    attempts++;
    res.writeHead(200, {
      'content-length': String(DATA.byteLength),
      etag: attempts === 1 ? '"first"' : '"second"',
    });
    if (attempts === 1) res.socket?.destroy();
    else res.end(DATA);
  });
  factory = createDownloaderFactory({ adapters: [http()], retry: { baseDelayMs: 1 } });
  const streamer = createStreamer({
    downloader: factory,
    headers: (headers, { target }) => {
      delete headers['x-upstream-note'];
      headers['x-served-for'] = new URL(String(target.url)).pathname;
    },
  });
  server = await startStreamerServer(streamer, (path) => ({
    url: upstream.url(path),
    ...(path === '/hdr.bin' ? { size: DATA.byteLength, digests: { sha256: sha256(DATA) } } : {}),
  }));
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await upstream.stop();
});

describe('streamer headers', () => {
  it('forwards the file headers and drops hop-by-hop and credential headers', async () => {
    const unfiltered = createStreamer({ downloader: factory });
    const plain = await startStreamerServer(unfiltered, (path) => ({ url: upstream.url(path) }));
    try {
      const got = await fetchRaw(plain.url('/hdr.bin'));
      expect(got.status).toBe(200);
      expect(got.complete).toBe(true);
      expect(sha256(got.body)).toBe(sha256(DATA));
      expect(got.headers).toMatchObject({
        'content-type': 'application/x-rpm',
        'content-length': String(DATA.byteLength),
        'cache-control': 'public, max-age=60',
        'content-disposition': 'attachment; filename="hdr.bin"',
        etag: '"v1"',
        'last-modified': 'Wed, 21 Oct 2015 07:28:00 GMT',
        'accept-ranges': 'bytes',
        'x-upstream-note': 'kept',
      });
      for (const name of [
        'x-hop',
        'set-cookie',
        'proxy-authenticate',
        'alt-svc',
        'strict-transport-security',
      ]) {
        expect(got.headers[name], name).toBeUndefined();
      }
      // The streamer's own connection management, not the upstream's.
      expect(got.headers.connection ?? '').not.toContain('x-hop');
      expect(got.headers['keep-alive'] ?? '').not.toBe('timeout=5');
    } finally {
      await plain.stop();
    }
  });

  it('forwards the metadata of the attempt that served the bytes', async () => {
    const got = await fetchRaw(server.url('/retried.bin'));
    expect(got.complete).toBe(true);
    expect(got.headers.etag).toBe('"second"');
  });

  it('lets the caller filter and add headers', async () => {
    const got = await fetchRaw(server.url('/hdr.bin'));
    expect(got.status).toBe(200);
    expect(got.headers['x-upstream-note']).toBeUndefined();
    expect(got.headers['x-served-for']).toBe('/hdr.bin');
    expect(got.headers['content-type']).toBe('application/x-rpm');
  });

  it('answers HEAD from the metadata without reading the body, and frees the upstream', async () => {
    const before = upstream.stats().totalRequests;
    const started = Date.now();
    const got = await fetchRaw(server.url('/stalled.bin'), { method: 'HEAD' });
    expect(Date.now() - started).toBeLessThan(2000);
    expect(got.status).toBe(200);
    expect(got.body.byteLength).toBe(0);
    expect(got.headers['content-length']).toBe(String(1 << 30));
    expect(got.headers['content-type']).toBe('text/plain');
    expect(upstream.stats().totalRequests).toBe(before + 1);
    await waitFor(() => upstream.stats().connections === 0, 1000);
  });

  it('answers 500 when the header filter throws, before anything was sent', async () => {
    const throwing = createStreamer({
      downloader: factory,
      headers: () => {
        throw new Error('filter bug');
      },
    });
    const front = await startStreamerServer(throwing, (path) => ({ url: upstream.url(path) }));
    try {
      const outcome = front.nextOutcomes(1);
      const got = await fetchRaw(front.url('/hdr.bin'));
      expect(got.status).toBe(500);
      expect(got.complete).toBe(true);
      expect((await outcome)[0]).toMatchObject({ ok: false, status: 500 });
    } finally {
      await front.stop();
    }
  });

  it('answers a method other than GET and HEAD with 405', async () => {
    const got = await fetchRaw(server.url('/hdr.bin'), { method: 'POST' });
    expect(got.status).toBe(405);
    expect(got.headers.allow).toBe('GET, HEAD');
  });
});
