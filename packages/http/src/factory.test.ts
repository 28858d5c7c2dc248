import { createHash } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  Limiter,
  rebuildDownloaderFactory,
  ErrorCodes,
  type DownloaderFactoryOptions,
  type DownloadRequest,
} from '@dl/core';
import {
  activeResources,
  resourceGrowth,
  startHttpFixture,
  waitFor,
  type HttpFixture,
} from '@dl/testkit';
import { http, type HttpAdapterOptions, type TokenProvider } from './index.js';
import { rejectionOf } from '@dl/testkit';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fixture(): Promise<HttpFixture> {
  const server = await startHttpFixture();
  cleanup.push(() => server.stop());
  return server;
}

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dl-http-e2e-'));
  cleanup.push(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

function factory(options: HttpAdapterOptions = {}, extra: Partial<DownloaderFactoryOptions> = {}) {
  const f = createDownloaderFactory({
    adapters: [http(options)],
    retry: { maxAttempts: 4, baseDelayMs: 10, maxDelayMs: 2000 },
    ...extra,
  });
  cleanup.push(() => f.destroy());
  return f;
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
const bytes = (n: number, seed: number) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 13 + seed) & 0xff));

describe('through createDownloaderFactory', () => {
  it('a bearer token from an unset variable fails every download of a batch with one error, resolved once', async () => {
    const server = await fixture();
    for (let i = 0; i < 40; i++) server.put(`/f${i}`, Buffer.from(`file ${i}`));
    const variable = 'DL_TEST_UNSET_BEARER_TOKEN';
    delete process.env[variable];
    const adapter = http({ auth: { type: 'bearer', token: { env: variable } } });
    let sessions = 0;
    await using factory = createDownloaderFactory({
      adapters: [
        {
          ...adapter,
          createSession: (context) => {
            sessions++;
            return adapter.createSession(context);
          },
        },
      ],
      limits: { total: 4, perHost: 2 },
      retry: { maxAttempts: 3 },
    });
    const requests = Array.from({ length: 40 }, (_, i) => ({ url: server.url(`/f${i}`) }));
    const messages = new Set<string>();
    for await (const outcome of factory.downloadAll(requests)) {
      expect(outcome.ok).toBe(false);
      if (outcome.ok) continue;
      expect(outcome.error.code).toBe(ErrorCodes.InvalidRequest);
      expect(outcome.error.retryable).toBe(false);
      messages.add(outcome.error.message);
    }
    expect([...messages]).toEqual([
      `The auth[0].token references environment variable ${variable}, which is not set`,
    ]);
    // Later downloads fail at once too, without resolving the secret again.
    expect((await rejectionOf(factory.download({ url: server.url('/f0') }))).code).toBe(
      ErrorCodes.InvalidRequest,
    );
    expect(sessions).toBe(1);
    expect(server.stats().totalRequests).toBe(0);
  });

  it('5,000 small downloads at perHost 8 reach the server over at most 8 connections', async () => {
    const server = await fixture();
    for (let i = 0; i < 50; i++) server.put(`/small/${i}`, bytes(512, i));
    const f = factory({}, { limits: { total: 16, perHost: 8 } });
    function* requests(): Generator<DownloadRequest<number>> {
      for (let i = 0; i < 5000; i++) {
        const data = bytes(512, i % 50);
        yield {
          url: server.url(`/small/${i % 50}`),
          size: 512,
          digests: { sha256: sha256(data) },
          context: i,
        };
      }
    }
    let ok = 0;
    const seen = new Set<number>();
    for await (const outcome of f.downloadAll(requests())) {
      if (outcome.ok) ok++;
      seen.add(outcome.context);
    }
    expect(ok).toBe(5000);
    expect(seen.size).toBe(5000);
    expect(server.stats().totalRequests).toBe(5000);
    expect(server.stats().peakConnections).toBeLessThanOrEqual(8);
    expect(server.stats().totalConnections).toBeLessThanOrEqual(8);
  }, 60_000);

  it("a budget that counts connections: each socket holds a lease until it closes, and an idle one closes within the factory's maxIdleMs", async () => {
    // The fixture says Keep-Alive: timeout=30 and the adapter's own figure is 20 s.
    const server = await startHttpFixture({ keepAliveTimeoutMs: 30_000 });
    cleanup.push(() => server.stop());
    server.put('/a', bytes(64, 1));
    const leases = { taken: [] as string[], held: 0 };
    const f = factory(
      { keepAliveTimeout: 20_000 },
      {
        budget: (init) =>
          Object.assign(new Limiter(init), {
            connections: (origin: string) => {
              leases.taken.push(origin);
              leases.held++;
              return Promise.resolve(() => void leases.held--);
            },
          }),
      },
    );
    await f.download({ url: server.url('/a') });
    expect(server.stats().connections).toBe(1);
    expect(leases).toEqual({ taken: [new URL(server.url('/a')).origin], held: 1 });
    const idleSince = Date.now();
    await waitFor(() => server.stats().connections === 0 && leases.held === 0, {
      timeoutMs: 5_000,
    });
    // maxIdleMs = 1 s (undici's coarse timers may add up to 1 s); nowhere near 20 or 30 s.
    expect(Date.now() - idleSince).toBeLessThan(2_500);
  });

  it('a reset mid-body is resumed with Range and If-Range', async () => {
    const server = await fixture();
    const data = bytes(500_000, 3);
    server.put('/f.bin', data);
    server.fault('/f.bin', { resetAfter: 200_000, rst: true });
    const dir = await tempDir();
    const result = await factory().download({
      url: server.url('/f.bin'),
      destination: join(dir, 'f.bin'),
      size: data.length,
      digests: { sha256: sha256(data) },
    });
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBeGreaterThan(0);
    const [first, second] = server.requests();
    expect(first?.headers.range).toBeUndefined();
    expect(second?.headers.range).toBe(`bytes=${result.resumedBytes}-`);
    expect(second?.headers['if-range']).toBe(result.metadata.etag);
    expect(Buffer.compare(await readFile(join(dir, 'f.bin')), data)).toBe(0);
    expect(await readdir(dir)).toEqual(['f.bin']);
  });

  it('restarts from zero into a fresh temp file when the ETag changed', async () => {
    const server = await fixture();
    const oldData = bytes(300_000, 1);
    const newData = bytes(300_000, 2);
    const seen: IncomingMessage['headers'][] = [];
    // The first answer (ETag "old") breaks mid-body; then the file has changed, so If-Range "old" gets a 200.
    server.route('/v.bin', (req: IncomingMessage, res: ServerResponse) => {
      seen.push(req.headers);
      if (seen.length === 1) {
        res.writeHead(200, { etag: '"old"', 'content-length': String(oldData.length) });
        res.write(oldData.subarray(0, 100_000), () => res.socket?.destroy());
        return;
      }
      res.writeHead(200, { etag: '"new"', 'content-length': String(newData.length) });
      res.end(newData);
    });
    const dir = await tempDir();
    const result = await factory().download({
      url: server.url('/v.bin'),
      destination: join(dir, 'v.bin'),
      size: newData.length,
    });
    expect(result.attempts).toBe(2);
    expect(result.resumedBytes).toBe(0);
    expect(seen[1]?.range).toMatch(/^bytes=\d+-$/);
    expect(seen[1]?.['if-range']).toBe('"old"');
    expect(Buffer.compare(await readFile(join(dir, 'v.bin')), newData)).toBe(0);
    expect(await readdir(dir)).toEqual(['v.bin']);
  });

  it('an abort mid-body leaves no socket and no temp file', async () => {
    const server = await fixture();
    server.put('/big.bin', bytes(4 * 1024 * 1024, 9));
    server.put('/warm.bin', bytes(100, 1));
    const dir = await tempDir();
    const f = factory();
    await f.download({ url: server.url('/warm.bin'), destination: join(dir, 'warm.bin') });
    await new Promise((r) => setTimeout(r, 50));
    const baseline = activeResources();
    const controller = new AbortController();
    const off = f.on('download-progress', (event) => {
      if (event.bytes > 0) controller.abort();
    });
    const error = await rejectionOf(
      f.download(
        { url: server.url('/big.bin'), destination: join(dir, 'big.bin') },
        { signal: controller.signal },
      ),
    );
    off();
    expect(error.code).toBe(ErrorCodes.Aborted);
    expect(await readdir(dir)).toEqual(['warm.bin']);
    await waitFor(() => resourceGrowth(baseline).length === 0, 2000).catch(() => {});
    expect(resourceGrowth(baseline)).toEqual([]);
    expect(server.stats().requests).toBe(0);
  });

  it('100 concurrent downloads hitting a 401 cause one token refresh', async () => {
    const server = await fixture();
    let valid = 'v1';
    for (let i = 0; i < 100; i++) {
      server.route(`/t/${i}`, (req, res) => {
        if (req.headers.authorization === `Bearer ${valid}`)
          res.writeHead(200, { 'content-length': '2' }).end('ok');
        else res.writeHead(401, { 'www-authenticate': 'Bearer', 'content-length': '0' }).end();
      });
    }
    let calls = 0;
    let refreshes = 0;
    const provider: TokenProvider = {
      async getToken({ rejected }) {
        if (rejected !== undefined) refreshes++;
        await new Promise((r) => setTimeout(r, 10));
        return `v${++calls}`;
      },
    };
    const f = factory(
      { auth: { type: 'token', provider } },
      { limits: { total: 100, perHost: 100 } },
    );
    await f.download({ url: server.url('/t/0') });
    valid = 'v2';
    let ok = 0;
    const requests = Array.from({ length: 100 }, (_, i) => ({
      url: server.url(`/t/${i}`),
      size: 2,
    }));
    for await (const outcome of f.downloadAll(requests)) if (outcome.ok) ok++;
    expect(ok).toBe(100);
    expect(refreshes).toBe(1);
    expect(calls).toBe(2);
  });

  it('survives the plain-data handoff: toJSON, then rebuildDownloaderFactory with { http }', async () => {
    const server = await fixture();
    server.route('/private', (req, res) => {
      if (req.headers.authorization === 'Bearer handed-over')
        res.writeHead(200, { 'content-length': '2' }).end('ok');
      else res.writeHead(401, { 'content-length': '0' }).end();
    });
    process.env.DL_HTTP_HANDOFF_TOKEN = 'handed-over';
    try {
      const original = factory({
        auth: { type: 'bearer', token: { env: 'DL_HTTP_HANDOFF_TOKEN' } },
        userAgent: 'importer/1',
      });
      const text = JSON.stringify(original);
      expect(text).not.toContain('handed-over');
      const rebuilt = rebuildDownloaderFactory(JSON.parse(text), { adapters: { http } });
      cleanup.push(() => rebuilt.destroy());
      const result = await rebuilt.download({ url: server.url('/private'), size: 2 });
      expect(result.size).toBe(2);
      expect(server.requests().at(-1)?.headers['user-agent']).toMatch(/^dl\/\S+ .*importer\/1$/);
    } finally {
      delete process.env.DL_HTTP_HANDOFF_TOKEN;
    }
  });

  it('checks a digest the server advertises when it computes that algorithm', async () => {
    const server = await fixture();
    const data = bytes(10_000, 4);
    const wrong = createHash('sha256').update('something else').digest('base64');
    server.put('/good', data, {
      headers: { 'repr-digest': `sha-256=:${createHash('sha256').update(data).digest('base64')}:` },
    });
    server.put('/bad', data, { headers: { 'repr-digest': `sha-256=:${wrong}:` } });
    const f = factory();
    const good = await f.download({ url: server.url('/good'), computeDigests: ['sha256'] });
    expect(good.metadata.digests?.sha256).toBe(sha256(data));
    const error = await rejectionOf(
      f.download({ url: server.url('/bad'), computeDigests: ['sha256'] }),
    );
    expect(error.code).toBe(ErrorCodes.DigestMismatch);
  });

  it('serves the streamer: factory.open gives metadata first, and abort() frees the connection', async () => {
    const server = await fixture();
    const data = bytes(2 * 1024 * 1024, 6);
    server.put('/stream.bin', data, { headers: { 'cache-control': 'max-age=300' } });
    const f = factory();
    const opened = await f.open({ url: server.url('/stream.bin'), size: data.length });
    expect(opened.metadata).toMatchObject({
      status: 200,
      size: data.length,
      contentType: 'application/octet-stream',
    });
    expect(opened.metadata.headers['cache-control']).toBe('max-age=300');
    let n = 0;
    for await (const chunk of opened.body) {
      n += chunk.byteLength;
      if (n > 100_000) break;
    }
    opened.abort();
    await opened.result.catch(() => {});
    await waitFor(() => server.stats().connections === 0, 2000);
    expect(server.stats().connections).toBe(0);
  });

  it('validates a gzip-encoded .gz as the .gz', async () => {
    const server = await fixture();
    const gz = gzipSync(Buffer.from('x'.repeat(100_000)));
    server.put('/a.gz', gz, { headers: { 'content-encoding': 'gzip' } });
    const result = await factory().download({
      url: server.url('/a.gz'),
      size: gz.length,
      digests: { sha256: sha256(gz) },
    });
    expect(result.size).toBe(gz.length);
  });

  it('retries a 429 after its Retry-After and fails a Content-Length that contradicts the expected size', async () => {
    const server = await fixture();
    const data = bytes(1000, 5);
    server.put('/busy', data);
    server.fault('/busy', { status: 429, retryAfter: 1 });
    const started = Date.now();
    const result = await factory().download({ url: server.url('/busy'), size: 1000 });
    expect(result.attempts).toBe(2);
    expect(Date.now() - started).toBeGreaterThanOrEqual(900);
    const error = await rejectionOf(factory().download({ url: server.url('/busy'), size: 999 }));
    expect(error.code).toBe(ErrorCodes.SizeMismatch);
    expect(server.stats().totalRequests).toBe(3);
  });
});
