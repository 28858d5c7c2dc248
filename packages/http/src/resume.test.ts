import { afterEach, describe, expect, it } from 'vitest';
import type { RemoteMetadata } from '@dl/core';
import { startHttpFixture, type HttpFixture } from '@dl/testkit';
import { http } from './index.js';
import type { HttpSession } from './http-session.js';
import { openRequest, readAll, sessionContext } from '@dl/testkit';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const data = Buffer.from(Array.from({ length: 100_000 }, (_, i) => (i * 7) & 0xff));

async function setup() {
  const server = await startHttpFixture();
  cleanup.push(() => server.stop());
  const adapter = http();
  const session = (await adapter.createSession(sessionContext())) as HttpSession;
  cleanup.push(() => session.destroy());
  return { server, adapter, session };
}

async function firstMetadata(
  server: HttpFixture,
  adapter: ReturnType<typeof http>,
  session: HttpSession,
  path: string,
) {
  const first = await adapter.open(session, openRequest(server.url(path)));
  await readAll(first.body);
  return first.metadata;
}

describe('resume', () => {
  it('asks for the rest with Range and If-Range (strong ETag) and continues on 206', async () => {
    const { server, adapter, session } = await setup();
    server.put('/f', data);
    const before = await firstMetadata(server, adapter, session, '/f');
    const resource = await adapter.open(
      session,
      openRequest(server.url('/f'), { offset: 40_000, resumeFrom: before, attempt: 2 }),
    );
    const sent = server.requests().at(-1)?.headers ?? {};
    expect(sent.range).toBe('bytes=40000-');
    expect(sent['if-range']).toBe(before.etag);
    expect(resource.metadata.status).toBe(206);
    expect(resource.metadata.offset).toBe(40_000);
    expect(resource.metadata.length).toBe(60_000);
    expect(resource.metadata.size).toBe(100_000);
    expect(Buffer.compare(await readAll(resource.body), data.subarray(40_000))).toBe(0);
  });

  it('uses Last-Modified for If-Range when the ETag is weak', async () => {
    const { server, adapter, session } = await setup();
    server.put('/w', data, { etag: 'W/"weak"' });
    const before = await firstMetadata(server, adapter, session, '/w');
    const resource = await adapter.open(
      session,
      openRequest(server.url('/w'), { offset: 10, resumeFrom: before }),
    );
    await readAll(resource.body);
    expect(server.requests().at(-1)?.headers['if-range']).toBe(before.lastModified);
  });

  it('restarts from zero when the ETag changed (the server answers 200)', async () => {
    const { server, adapter, session } = await setup();
    server.put('/e', data);
    const before = await firstMetadata(server, adapter, session, '/e');
    const changed = Buffer.from(data).reverse();
    server.put('/e', changed);
    const resource = await adapter.open(
      session,
      openRequest(server.url('/e'), { offset: 50_000, resumeFrom: before }),
    );
    expect(resource.metadata.status).toBe(200);
    expect(resource.metadata.offset).toBe(0);
    expect(resource.metadata.etag).not.toBe(before.etag);
    expect(Buffer.compare(await readAll(resource.body), changed)).toBe(0);
  });

  it('restarts without a range after a 416', async () => {
    const { server, adapter, session } = await setup();
    server.put('/s', data.subarray(0, 1000));
    const before: RemoteMetadata = { url: server.url('/s'), offset: 0, headers: {}, size: 5000 };
    const resource = await adapter.open(
      session,
      openRequest(server.url('/s'), { offset: 2000, resumeFrom: before }),
    );
    expect(resource.metadata.offset).toBe(0);
    expect((await readAll(resource.body)).length).toBe(1000);
    const [ranged, plain] = server.requests().slice(-2);
    expect(ranged?.headers.range).toBe('bytes=2000-');
    expect(plain?.headers.range).toBeUndefined();
  });

  it('restarts when the 206 does not start where asked or the complete length changed', async () => {
    const { server, adapter, session } = await setup();
    let served = 0;
    server.route('/odd', (req, res) => {
      served++;
      if (req.headers.range) {
        res.writeHead(206, { 'content-range': 'bytes 0-99/100000', 'content-length': '100' });
        res.end(data.subarray(0, 100));
      } else {
        res.writeHead(200, { 'content-length': String(data.length) });
        res.end(data);
      }
    });
    const resource = await adapter.open(session, openRequest(server.url('/odd'), { offset: 500 }));
    expect(resource.metadata.offset).toBe(0);
    expect(Buffer.compare(await readAll(resource.body), data)).toBe(0);
    expect(served).toBe(2);

    server.put('/grown', Buffer.concat([data, data]));
    const before: RemoteMetadata = {
      url: server.url('/grown'),
      offset: 0,
      headers: {},
      size: data.length,
    };
    const grown = await adapter.open(
      session,
      openRequest(server.url('/grown'), { offset: 500, resumeFrom: before }),
    );
    expect(grown.metadata.offset).toBe(0);
    expect((await readAll(grown.body)).length).toBe(2 * data.length);
  });

  it('asks for a closed range when the request has an end', async () => {
    const { server, adapter, session } = await setup();
    server.put('/r', data);
    const resource = await adapter.open(
      session,
      openRequest(server.url('/r'), { offset: 100, end: 199 }),
    );
    expect(server.requests().at(-1)?.headers.range).toBe('bytes=100-199');
    expect(resource.metadata.offset).toBe(100);
    expect(resource.metadata.length).toBe(100);
    expect(Buffer.compare(await readAll(resource.body), data.subarray(100, 200))).toBe(0);
  });

  it('cuts a partial read out of a whole answer when the server ignores Range', async () => {
    const { server, adapter, session } = await setup();
    server.route('/whole', (_req, res) =>
      res.writeHead(200, { 'content-length': String(data.length) }).end(data),
    );
    const download = { url: server.url('/whole'), range: { start: 70_000, end: 70_099 } };
    const resource = await adapter.open(
      session,
      openRequest(server.url('/whole'), { offset: 70_000, end: 70_099, download }),
    );
    expect(server.requests().at(-1)?.headers.range).toBe('bytes=70000-70099');
    expect(resource.metadata).toMatchObject({
      status: 200,
      offset: 70_000,
      length: 100,
      size: data.length,
    });
    expect(Buffer.compare(await readAll(resource.body), data.subarray(70_000, 70_100))).toBe(0);

    const open = { url: server.url('/whole'), range: { start: 99_990 } };
    const tail = await adapter.open(
      session,
      openRequest(server.url('/whole'), { offset: 99_990, download: open }),
    );
    expect(tail.metadata.length).toBe(10);
    expect(Buffer.compare(await readAll(tail.body), data.subarray(99_990))).toBe(0);
  });
});
