import { http } from '@dl/http';
import { generatedContent, startHttpFixture, type HttpFixture } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
  type ProtocolAdapter,
  type StreamTarget,
} from '../../src/index.js';
import { fetchRaw, sha256, startStreamerServer, type StreamerServer } from './support.js';

const SIZE = 1_000_000;
const DATA = generatedContent('/r.bin', SIZE);

let upstream: HttpFixture;
let factory: DownloaderFactory;
let server: StreamerServer;
const targets = new Map<string, StreamTarget>();

beforeAll(async () => {
  upstream = await startHttpFixture();
  upstream.put('/r.bin', DATA);
  // An upstream that ignores Range and always sends the whole file.
  upstream.route('/no-ranges.bin', (_req, res) => {
    res.writeHead(200, { 'content-length': String(SIZE), 'content-type': 'application/x-test' });
    res.end(DATA);
  });
  factory = createDownloaderFactory({
    adapters: [http()],
    retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
  });
  server = await startStreamerServer(createStreamer({ downloader: factory }), (path) =>
    targets.get(path),
  );
  targets.set('/known', {
    url: upstream.url('/r.bin'),
    size: SIZE,
    digests: { sha256: sha256(DATA) },
  });
  targets.set('/unknown', { url: upstream.url('/r.bin') });
  targets.set('/no-ranges', { url: upstream.url('/no-ranges.bin'), size: SIZE });
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await upstream.stop();
});

function lastUpstreamRange(path: string): string | undefined {
  const seen = upstream.requests().filter((r) => r.path === path);
  return seen.at(-1)?.headers.range as string | undefined;
}

describe('Range requests', () => {
  it('passes the range upstream and answers 206 with the right Content-Range', async () => {
    const got = await fetchRaw(server.url('/unknown'), { headers: { range: 'bytes=1000-1999' } });
    expect(got.status).toBe(206);
    expect(got.complete).toBe(true);
    expect(got.headers['content-range']).toBe(`bytes 1000-1999/${SIZE}`);
    expect(got.headers['content-length']).toBe('1000');
    expect(Buffer.compare(got.body, Buffer.from(DATA.subarray(1000, 2000)))).toBe(0);
    expect(lastUpstreamRange('/r.bin')).toBe('bytes=1000-1999');
  });

  it('serves open-ended and suffix ranges, skipping validation of the partial body', async () => {
    const open = await fetchRaw(server.url('/known'), { headers: { range: 'bytes=999000-' } });
    expect(open.status).toBe(206);
    expect(open.headers['content-range']).toBe(`bytes 999000-999999/${SIZE}`);
    expect(Buffer.compare(open.body, Buffer.from(DATA.subarray(999_000)))).toBe(0);
    expect(lastUpstreamRange('/r.bin')).toMatch(/^bytes=999000-(999999)?$/);

    // The size is known in advance, so a suffix range becomes an absolute one upstream.
    const suffix = await fetchRaw(server.url('/known'), { headers: { range: 'bytes=-500' } });
    expect(suffix.status).toBe(206);
    expect(suffix.headers['content-range']).toBe(`bytes 999500-999999/${SIZE}`);
    expect(Buffer.compare(suffix.body, Buffer.from(DATA.subarray(999_500)))).toBe(0);
    expect(lastUpstreamRange('/r.bin')).toBe('bytes=999500-999999');
  });

  it('answers 416 for a range past the end of a file of known size, without asking upstream', async () => {
    const before = upstream.stats().totalRequests;
    const got = await fetchRaw(server.url('/known'), { headers: { range: 'bytes=2000000-' } });
    expect(got.status).toBe(416);
    expect(got.headers['content-range']).toBe(`bytes */${SIZE}`);
    expect(upstream.stats().totalRequests).toBe(before);
  });

  it('serves the whole validated file for several ranges, an If-Range, or a malformed range', async () => {
    for (const headers of [
      { range: 'bytes=0-9,20-29' } as Record<string, string>,
      { range: 'bytes=0-9', 'if-range': '"x"' },
      { range: 'items=0-9' },
    ]) {
      const got = await fetchRaw(server.url('/known'), { headers });
      expect(got.status).toBe(200);
      expect(got.complete).toBe(true);
      expect(sha256(got.body)).toBe(sha256(DATA));
      expect(lastUpstreamRange('/r.bin')).toBeUndefined();
    }
  });

  it('an upstream that ignores Range still yields a correct 206', async () => {
    const got = await fetchRaw(server.url('/no-ranges'), { headers: { range: 'bytes=10-19' } });
    expect(got.status).toBe(206);
    expect(got.headers['content-range']).toBe(`bytes 10-19/${SIZE}`);
    expect(Buffer.compare(got.body, Buffer.from(DATA.subarray(10, 20)))).toBe(0);
    expect(lastUpstreamRange('/no-ranges.bin')).toBe('bytes=10-19');
  });

  it('falls back to the whole file when the adapter cannot start at an offset', async () => {
    // A protocol without offsets: it always starts at byte 0.
    const whole: ProtocolAdapter = {
      name: 'whole',
      schemes: ['whole'],
      capabilities: { resume: false, transfersPerConnection: 1, metadataBeforeBody: true },
      createSession: () => ({ close() {} }),
      async open() {
        return {
          metadata: { url: 'whole://x/f', offset: 0, size: SIZE, length: SIZE, headers: {} },
          body: (async function* () {
            yield DATA.subarray(0, SIZE / 2);
            yield DATA.subarray(SIZE / 2);
          })(),
        };
      },
    };
    const own = createDownloaderFactory({
      adapters: [whole],
      retry: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 5 },
    });
    const front = await startStreamerServer(createStreamer({ downloader: own }), () => ({
      url: 'whole://x/f',
      digests: { sha256: sha256(DATA) },
    }));
    try {
      const got = await fetchRaw(front.url('/f'), { headers: { range: 'bytes=10-19' } });
      expect(got.status).toBe(200);
      expect(got.complete).toBe(true);
      expect(sha256(got.body)).toBe(sha256(DATA));
    } finally {
      await front.stop();
      await own.destroy();
    }
  });
});
