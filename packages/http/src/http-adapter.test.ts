import { createHash } from 'node:crypto';
import { createServer, type AddressInfo } from 'node:net';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import { DownloadError, ErrorCodes, ValidationError } from '@dl/core';
import {
  activeResources,
  resourceGrowth,
  startHttpFixture,
  waitFor,
  type HttpFixture,
} from '@dl/testkit';
import { Agent } from 'undici';
import { http, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';
import { openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fixture(): Promise<HttpFixture> {
  const server = await startHttpFixture();
  cleanup.push(() => server.stop());
  return server;
}

async function session(options: HttpAdapterOptions = {}, perHost = 8) {
  const adapter = http(options);
  const s = await adapter.createSession(sessionContext({ maxConnectionsPerHost: perHost }));
  cleanup.push(() => s.destroy());
  return { adapter, session: s as HttpSession };
}

const bytes = (n: number, seed = 1) =>
  Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff));

describe('http adapter', () => {
  it('declares its schemes and capabilities', () => {
    const adapter = http();
    expect(adapter.name).toBe('http');
    expect(adapter.schemes).toEqual(['http', 'https']);
    expect(adapter.capabilities).toEqual({
      resume: true,
      transfersPerConnection: 1,
      metadataBeforeBody: true,
    });
  });

  it('gives metadata before the body and sends identity encoding and the user agent', async () => {
    const server = await fixture();
    const data = bytes(100_000);
    server.put('/a/file.bin', data, {
      headers: { 'content-type': 'application/x-test', 'cache-control': 'max-age=60' },
    });
    const { adapter, session: s } = await session({
      userAgent: 'importer/2',
      headers: { 'x-extra': 'yes' },
    });
    const resource = await adapter.open(
      s,
      openRequest(server.url('/a/file.bin'), { headers: { 'X-Request': 'r1' } }),
    );
    const { metadata } = resource;
    expect(metadata.status).toBe(200);
    expect(metadata.offset).toBe(0);
    expect(metadata.size).toBe(data.length);
    expect(metadata.length).toBe(data.length);
    expect(metadata.contentType).toBe('application/x-test');
    expect(metadata.etag).toMatch(/^"/);
    expect(metadata.lastModified).toBeDefined();
    expect(metadata.headers['cache-control']).toBe('max-age=60');
    expect(metadata.url).toBe(server.url('/a/file.bin'));
    expect(Buffer.compare(await readAll(resource.body), data)).toBe(0);
    const sent = server.requests().at(-1)?.headers ?? {};
    expect(sent['accept-encoding']).toBe('identity');
    expect(sent['user-agent']).toBe('dl/0.0.0-test importer/2');
    expect(sent['x-extra']).toBe('yes');
    expect(sent['x-request']).toBe('r1');
  });

  it('resolves with the metadata before the first body byte exists', async () => {
    const server = await fixture();
    let release: () => void = () => {};
    server.route('/later', (_req, res) => {
      res.writeHead(200, { 'content-length': '5', etag: '"e1"', 'content-type': 'text/plain' });
      res.flushHeaders();
      release = () => res.end('later');
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(server.url('/later')));
    expect(resource.metadata).toMatchObject({
      status: 200,
      length: 5,
      size: 5,
      etag: '"e1"',
      contentType: 'text/plain',
    });
    release();
    expect((await readAll(resource.body)).toString()).toBe('later');
  });

  it('sends every request through an injected dispatcher, which the session leaves open', async () => {
    const server = await fixture();
    server.put('/i', bytes(100));
    const agent = new Agent({ connections: 2 });
    cleanup.push(() => agent.close());
    const { adapter, session: s } = await session({ dispatcher: agent });
    expect(
      (await readAll((await adapter.open(s, openRequest(server.url('/i')))).body)).length,
    ).toBe(100);
    expect(Object.keys(agent.stats)).toContain(server.origin);
    await s.close();
    expect(agent.closed).toBe(false);
    expect(JSON.stringify(adapter)).not.toContain('dispatcher');
  });

  it('keeps a .gz served with Content-Encoding: gzip byte-exact', async () => {
    const server = await fixture();
    const gz = gzipSync(Buffer.from('hello '.repeat(10_000)));
    server.put('/pkg.tar.gz', gz, { headers: { 'content-encoding': 'gzip' } });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(server.url('/pkg.tar.gz')));
    const body = await readAll(resource.body);
    expect(createHash('sha256').update(body).digest('hex')).toBe(
      createHash('sha256').update(gz).digest('hex'),
    );
    expect(resource.metadata.size).toBe(gz.length);
  });

  it('decodes gzip only when asked, and then reports no encoded length', async () => {
    const server = await fixture();
    const plain = Buffer.from('decoded text '.repeat(5000));
    server.put('/text', gzipSync(plain), { headers: { 'content-encoding': 'gzip' } });
    const { adapter, session: s } = await session({ decode: true });
    const resource = await adapter.open(s, openRequest(server.url('/text'), { offset: 10 }));
    expect(Buffer.compare(await readAll(resource.body), plain)).toBe(0);
    expect(resource.metadata.offset).toBe(0);
    expect(resource.metadata.length).toBeUndefined();
    expect(resource.metadata.headers['content-encoding']).toBeUndefined();
    const sent = server.requests().at(-1)?.headers ?? {};
    expect(sent['accept-encoding']).toContain('gzip');
    expect(sent.range).toBeUndefined();
  });

  const statuses: [number, string, boolean][] = [
    [404, ErrorCodes.NotFound, false],
    [410, ErrorCodes.NotFound, false],
    [401, ErrorCodes.AuthFailed, false],
    [403, ErrorCodes.AuthFailed, false],
    [400, ErrorCodes.RemoteRejected, false],
    [501, ErrorCodes.RemoteRejected, false],
    [408, ErrorCodes.RemoteUnavailable, true],
    [425, ErrorCodes.RemoteUnavailable, true],
    [500, ErrorCodes.RemoteUnavailable, true],
    [502, ErrorCodes.RemoteUnavailable, true],
    [503, ErrorCodes.RemoteUnavailable, true],
    [504, ErrorCodes.RemoteUnavailable, true],
  ];
  it.each(statuses)('maps HTTP %i to %s (retryable %s)', async (status, code, retryable) => {
    const server = await fixture();
    server.put('/s', bytes(10));
    server.fault('/s', { status });
    const { adapter, session: s } = await session();
    const error = await rejectionOf(adapter.open(s, openRequest(server.url('/s'))));
    expect(DownloadError.isInstance(error)).toBe(true);
    expect(error.code).toBe(code);
    expect(error.retryable).toBe(retryable);
    expect((error.details as { status?: number }).status).toBe(status);
  });

  it('names the URL, redacted, in the message of a status error', async () => {
    const server = await fixture();
    server.put('/gone', bytes(10));
    server.fault('/gone', { status: 404 });
    const { adapter, session: s } = await session();
    const url = new URL(server.url('/gone?token=query-secret-1&v=2'));
    url.username = 'user';
    url.password = 'userinfo-secret-2';
    const error = await rejectionOf(adapter.open(s, openRequest(url.href)));
    expect(error.code).toBe(ErrorCodes.NotFound);
    expect(error.message).toBe(`HTTP 404 Not Found for ${server.url('/gone')}?token=REDACTED&v=2`);
    expect(JSON.stringify(error)).not.toMatch(/secret|user@/);
  });

  it('passes Retry-After in seconds and as an HTTP-date as the retry hint of a 429', async () => {
    const server = await fixture();
    server.put('/busy', bytes(10));
    const { adapter, session: s } = await session();
    server.fault('/busy', { status: 429, retryAfter: 3 });
    const seconds = await rejectionOf(adapter.open(s, openRequest(server.url('/busy'))));
    expect(seconds.code).toBe(ErrorCodes.RemoteUnavailable);
    expect(seconds.retryable).toBe(true);
    expect(seconds.retryAfterMs).toBe(3000);
    server.fault('/busy', { status: 429, retryAfter: new Date(Date.now() + 20_000).toUTCString() });
    const date = await rejectionOf(adapter.open(s, openRequest(server.url('/busy'))));
    expect(date.retryAfterMs).toBeGreaterThan(15_000);
    expect(date.retryAfterMs).toBeLessThanOrEqual(20_000);
  });

  it('fails a body shorter than its Content-Length with a retryable protocol-error', async () => {
    const server = await fixture();
    server.put('/short', bytes(50_000));
    server.fault('/short', { contentLength: 60_000 });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(server.url('/short')));
    expect(resource.metadata.length).toBe(60_000);
    const error = await rejectionOf(readAll(resource.body));
    expect(error.code).toBe(ErrorCodes.ProtocolError);
    expect(error.retryable).toBe(true);
  });

  it('never delivers more than Content-Length', async () => {
    // A raw server: node:http would refuse to write more than it announced.
    const raw = createServer((socket) => {
      socket.once('data', () => {
        socket.end('HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: close\r\n\r\n0123456789');
      });
    });
    await new Promise<void>((resolve) => raw.listen(0, '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => raw.close(resolve)));
    const { port } = raw.address() as AddressInfo;
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(`http://127.0.0.1:${port}/x`));
    const got = await readAll(resource.body).catch((error: DownloadError) => error);
    if (Buffer.isBuffer(got)) expect(got.toString()).toBe('01234');
    else expect(got.code).toBe(ErrorCodes.ProtocolError);
  });

  it('fails before reading the body when Content-Length contradicts the expected size', async () => {
    const server = await fixture();
    server.put('/sized', bytes(1000));
    const { adapter, session: s } = await session();
    const error = await rejectionOf(
      adapter.open(
        s,
        openRequest(server.url('/sized'), { download: { url: server.url('/sized'), size: 999 } }),
      ),
    );
    expect(ValidationError.isInstance(error)).toBe(true);
    expect(error.code).toBe(ErrorCodes.SizeMismatch);
    expect(error).toMatchObject({ expected: 999, actual: 1000 });
  });

  it('parses Repr-Digest, Content-Digest and Digest into metadata.digests', async () => {
    const server = await fixture();
    const data = bytes(1000);
    const b64 = (algorithm: string) => createHash(algorithm).update(data).digest('base64');
    const hex = (algorithm: string) => createHash(algorithm).update(data).digest('hex');
    server.put('/d', data, {
      headers: {
        'repr-digest': `sha-256=:${b64('sha256')}:`,
        'content-digest': `sha-512=:${b64('sha512')}:`,
        digest: `MD5=${b64('md5')},SHA=${b64('sha1')}`,
      },
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(server.url('/d')));
    await readAll(resource.body);
    expect(resource.metadata.digests).toEqual({
      sha256: hex('sha256'),
      sha512: hex('sha512'),
      md5: hex('md5'),
      sha1: hex('sha1'),
    });
  });

  it('reuses one kept-alive connection for sequential downloads', async () => {
    const server = await fixture();
    server.put('/k', bytes(5000));
    const { adapter, session: s } = await session();
    for (let i = 0; i < 20; i++)
      await readAll((await adapter.open(s, openRequest(server.url('/k')))).body);
    // undici may open a second socket while the first is still being released after its first response.
    expect(server.stats().totalConnections).toBeLessThanOrEqual(2);
    expect(server.stats().totalRequests).toBe(20);
  });

  it('never opens more connections to an origin than maxConnectionsPerHost (counted by the server)', async () => {
    const server = await fixture();
    server.put('/c', bytes(20_000));
    const { adapter, session: s } = await session({}, 3);
    const all = Array.from(
      { length: 60 },
      async () =>
        (await readAll((await adapter.open(s, openRequest(server.url('/c')))).body)).length,
    );
    expect(await Promise.all(all)).toEqual(Array(60).fill(20_000));
    expect(server.stats().peakConnections).toBeLessThanOrEqual(3);
    expect(server.stats().totalConnections).toBeLessThanOrEqual(3);
    expect(server.stats().peakConnections).toBeGreaterThanOrEqual(1);
  });

  it('aborting mid-body ends the transfer with aborted and leaves no socket open', async () => {
    const server = await fixture();
    server.put('/big', bytes(2 * 1024 * 1024));
    const { adapter, session: s } = await session();
    await readAll(
      (await adapter.open(s, openRequest(server.url('/big'), { download: { url: 'x' } }))).body,
    ).catch(() => {});
    await new Promise((r) => setTimeout(r, 20));
    const baseline = activeResources();
    const controller = new AbortController();
    const resource = await adapter.open(
      s,
      openRequest(server.url('/big'), { signal: controller.signal }),
    );
    const reading = (async () => {
      let n = 0;
      for await (const chunk of resource.body as AsyncIterable<Uint8Array>) {
        n += chunk.length;
        if (n > 100_000) controller.abort();
      }
    })();
    const error = await rejectionOf(reading);
    expect(error.code).toBe(ErrorCodes.Aborted);
    await waitFor(() => server.stats().connections === 0, { timeoutMs: 2000 });
    await waitFor(() => resourceGrowth(baseline).length === 0, { timeoutMs: 2000 });
    expect(resourceGrowth(baseline)).toEqual([]);
  });

  it('rejects with aborted, sending nothing, when the signal aborted before open', async () => {
    const server = await fixture();
    server.put('/never', bytes(10));
    const { adapter, session: s } = await session();
    const error = await rejectionOf(
      adapter.open(s, openRequest(server.url('/never'), { signal: AbortSignal.abort() })),
    );
    expect(error.code).toBe(ErrorCodes.Aborted);
    expect(server.stats().totalRequests).toBe(0);
  });

  it('destroying the session ends a body in flight', async () => {
    const server = await fixture();
    server.put('/slow', bytes(4 * 1024 * 1024));
    server.fault('/slow', { stallAfter: 1000, stallMs: 5000 });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(server.url('/slow')));
    const reading = rejectionOf(readAll(resource.body));
    await new Promise((r) => setTimeout(r, 50));
    await s.destroy();
    const error = await reading;
    expect(DownloadError.isInstance(error)).toBe(true);
    expect(error.code).toBe(ErrorCodes.Closed);
  });
});
