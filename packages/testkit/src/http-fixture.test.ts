import { Agent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { startHttpFixture, type HttpFixture } from './http-fixture.js';
import { parseRange } from './http-range.js';

interface Reply {
  status: number;
  headers: IncomingHttpHeaders;
  body: Buffer;
}

function fetchRaw(
  url: string,
  options: { method?: string; headers?: Record<string, string>; agent?: Agent } = {},
): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      url,
      { method: options.method ?? 'GET', headers: options.headers, agent: options.agent },
      (res) => {
        const parts: Buffer[] = [];
        res.on('data', (chunk: Buffer) => parts.push(chunk));
        res.on('error', reject);
        res.on('aborted', () => reject(new Error('aborted')));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            headers: res.headers,
            body: Buffer.concat(parts),
          }),
        );
      },
    );
    req.on('error', reject);
    req.end();
  });
}

/** Reads a response until it fails; resolves with the bytes received and the error. */
function fetchBroken(url: string): Promise<{ received: number; error: unknown }> {
  return new Promise((resolve) => {
    let received = 0;
    const req = httpRequest(url, { agent: false }, (res) => {
      res.on('data', (chunk: Buffer) => (received += chunk.length));
      res.on('error', (error) => resolve({ received, error }));
      res.on('end', () => resolve({ received, error: undefined }));
    });
    req.on('error', (error) => resolve({ received, error }));
    req.end();
  });
}

function bytes(n: number): Buffer {
  return Buffer.from(Uint8Array.from({ length: n }, (_, i) => (i * 31 + 7) & 0xff));
}

let fixture: HttpFixture | undefined;
afterEach(async () => {
  await fixture?.stop();
  fixture = undefined;
});

async function start(chunkSize?: number): Promise<HttpFixture> {
  fixture = await startHttpFixture(chunkSize === undefined ? {} : { chunkSize });
  return fixture;
}

describe('parseRange', () => {
  it('reads the single-range forms and refuses the rest', () => {
    expect(parseRange('bytes=10-', 100)).toEqual({ start: 10, end: 100 });
    expect(parseRange('bytes=10-19', 100)).toEqual({ start: 10, end: 20 });
    expect(parseRange('bytes=90-200', 100)).toEqual({ start: 90, end: 100 });
    expect(parseRange('bytes=-30', 100)).toEqual({ start: 70, end: 100 });
    expect(parseRange('bytes=100-', 100)).toBe('unsatisfiable');
    expect(parseRange('bytes=0-1,5-6', 100)).toBeUndefined();
    expect(parseRange('bytes=9-3', 100)).toBeUndefined();
    expect(parseRange(undefined, 100)).toBeUndefined();
  });
});

describe('startHttpFixture', () => {
  it('serves a file on loopback with validators, and 404 for the rest', async () => {
    const http = await start();
    expect(http.origin).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    const data = bytes(100_000);
    http.put('/a/file.bin', data, { headers: { 'x-extra': 'yes' } });
    const reply = await fetchRaw(http.url('a/file.bin'));
    expect(reply.status).toBe(200);
    expect(reply.body.equals(data)).toBe(true);
    expect(reply.headers).toMatchObject({
      'content-length': '100000',
      'accept-ranges': 'bytes',
      'x-extra': 'yes',
    });
    expect(reply.headers.etag).toMatch(/^"[\w-]{22}"$/);
    expect(new Date(reply.headers['last-modified'] ?? '').getTime()).toBeGreaterThan(0);
    expect((await fetchRaw(http.url('/missing'))).status).toBe(404);
    const head = await fetchRaw(http.url('/a/file.bin'), { method: 'HEAD' });
    expect([head.status, head.headers['content-length'], head.body.length]).toEqual([
      200,
      '100000',
      0,
    ]);
    expect(http.requests().map((r) => `${r.method} ${r.path}`)).toEqual([
      'GET /a/file.bin',
      'GET /missing',
      'HEAD /a/file.bin',
    ]);
  });

  it('answers ranges with 206 and Content-Range, and 416 past the end', async () => {
    const http = await start();
    const data = bytes(1000);
    http.put('/f', data);
    const open = await fetchRaw(http.url('/f'), { headers: { range: 'bytes=600-' } });
    expect(open.status).toBe(206);
    expect(open.headers['content-range']).toBe('bytes 600-999/1000');
    expect(open.body.equals(data.subarray(600))).toBe(true);
    const closed = await fetchRaw(http.url('/f'), { headers: { range: 'bytes=10-19' } });
    expect([closed.status, closed.headers['content-length']]).toEqual([206, '10']);
    expect(closed.body.equals(data.subarray(10, 20))).toBe(true);
    const past = await fetchRaw(http.url('/f'), { headers: { range: 'bytes=1000-' } });
    expect([past.status, past.headers['content-range']]).toEqual([416, 'bytes */1000']);
  });

  it('honours If-Range only when the validator matches', async () => {
    const http = await start();
    http.put('/f', bytes(1000));
    const { headers } = await fetchRaw(http.url('/f'), { method: 'HEAD' });
    const etag = headers.etag ?? '';
    const lastModified = headers['last-modified'] ?? '';
    const range = 'bytes=500-';
    expect((await fetchRaw(http.url('/f'), { headers: { range, 'if-range': etag } })).status).toBe(
      206,
    );
    expect(
      (await fetchRaw(http.url('/f'), { headers: { range, 'if-range': lastModified } })).status,
    ).toBe(206);
    const stale = await fetchRaw(http.url('/f'), { headers: { range, 'if-range': '"other"' } });
    expect([stale.status, stale.body.length]).toEqual([200, 1000]);
    http.put('/weak', bytes(10), { etag: 'W/"w"', lastModified: false });
    const weak = await fetchRaw(http.url('/weak'), {
      headers: { range: 'bytes=5-', 'if-range': 'W/"w"' },
    });
    expect(weak.status).toBe(200);
    expect(weak.headers['last-modified']).toBeUndefined();
  });

  it('injects statuses with Retry-After for the given number of requests', async () => {
    const http = await start();
    http.put('/f', bytes(10));
    http.fault('/f', { status: 503, retryAfter: 2, times: 2 });
    const first = await fetchRaw(http.url('/f'));
    expect([first.status, first.headers['retry-after']]).toEqual([503, '2']);
    expect((await fetchRaw(http.url('/f'))).status).toBe(503);
    expect((await fetchRaw(http.url('/f'))).status).toBe(200);
  });

  it('resets the connection after K body bytes, once', async () => {
    const http = await start(1000);
    const data = bytes(50_000);
    http.put('/f', data);
    http.fault('/f', { resetAfter: 12_345 });
    const broken = await fetchBroken(http.url('/f'));
    expect(broken.error).toBeInstanceOf(Error);
    expect(broken.received).toBe(12_345);
    const whole = await fetchRaw(http.url('/f'), { agent: new Agent() });
    expect(whole.body.equals(data)).toBe(true);
  });

  it('stalls before the headers and mid-body', async () => {
    const http = await start(100);
    http.put('/f', bytes(1000));
    http.fault('/f', { stallMs: 150 });
    let started = Date.now();
    await fetchRaw(http.url('/f'));
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
    http.fault('/f', { stallMs: 150, stallAfter: 300 });
    started = Date.now();
    const reply = await fetchRaw(http.url('/f'));
    expect(reply.body.length).toBe(1000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('corrupts one byte and announces a wrong Content-Length when asked', async () => {
    const http = await start();
    const data = bytes(1000);
    http.put('/f', data);
    http.fault('/f', { corruptAt: 321 });
    const corrupt = (await fetchRaw(http.url('/f'))).body;
    expect([...corrupt.keys()].filter((i) => corrupt[i] !== data[i])).toEqual([321]);
    http.fault('/f', { contentLength: 2000 });
    const short = await fetchBroken(http.url('/f'));
    expect(short.received).toBe(1000);
    expect(short.error).toBeInstanceOf(Error);
  });

  it('counts connections and concurrent requests on its side', async () => {
    const http = await start(1000);
    http.put('/f', bytes(10_000));
    http.fault('/f', { stallMs: 100, times: Infinity });
    const agent = new Agent({ keepAlive: true, maxSockets: 3 });
    await Promise.all(Array.from({ length: 9 }, () => fetchRaw(http.url('/f'), { agent })));
    const stats = http.stats();
    expect(stats.peakConnections).toBe(3);
    expect(stats.peakRequests).toBe(3);
    expect(stats.totalConnections).toBe(3);
    expect(stats.totalRequests).toBe(9);
    expect(stats.requests).toBe(0);
    agent.destroy();
    await expect.poll(() => http.stats().connections).toBe(0);
    http.resetPeak();
    expect(http.stats().peakConnections).toBe(0);
  });

  it('serves routes and redirects', async () => {
    const http = await start();
    http.put('/target', bytes(5));
    http.redirect('/moved', '/target', 301);
    http.route('/custom', (_req, res) => res.end('hi'));
    const moved = await fetchRaw(http.url('/moved'));
    expect([moved.status, moved.headers.location]).toEqual([301, '/target']);
    expect((await fetchRaw(http.url('/custom'))).body.toString()).toBe('hi');
  });

  it('stop() ends stalled responses and kept-alive sockets, and resolves once closed', async () => {
    const http = await start();
    http.put('/f', bytes(10));
    http.fault('/f', { stallMs: 60_000 });
    const agent = new Agent({ keepAlive: true });
    const pending = fetchRaw(http.url('/f'), { agent }).then(
      () => 'answered',
      () => 'failed',
    );
    await expect.poll(() => http.stats().requests).toBe(1);
    const started = Date.now();
    await http.stop();
    await http.stop();
    expect(Date.now() - started).toBeLessThan(1000);
    expect(await pending).toBe('failed');
    expect(http.stats().connections).toBe(0);
    agent.destroy();
  });
});
