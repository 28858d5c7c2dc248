import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { openRequest, readAll, sessionContext } from '@dl/testkit';
import { http } from './index.js';
import type { HttpSession } from './http-session.js';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

/** A file with ETag "v1" and a Last-Modified date, honouring If-None-Match and If-Modified-Since. */
async function setup() {
  const seen: Record<string, string | undefined>[] = [];
  const modified = 'Tue, 01 Oct 2024 10:00:00 GMT';
  const server: Server = createServer((req, res) => {
    seen.push({ inm: req.headers['if-none-match'], ims: req.headers['if-modified-since'] });
    const inm = req.headers['if-none-match'];
    const fresh =
      inm !== undefined ? inm === '"v1"' : req.headers['if-modified-since'] === modified;
    res.setHeader('etag', '"v1"');
    res.setHeader('last-modified', modified);
    if (fresh) {
      res.writeHead(304).end();
      return;
    }
    res.writeHead(200, { 'content-length': 5 }).end('hello');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(() => new Promise((resolve) => server.close(resolve)));
  const adapter = http();
  const session = (await adapter.createSession(sessionContext())) as HttpSession;
  cleanup.push(() => session.destroy());
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
  return { adapter, session, url, seen, modified };
}

describe('conditional GET (ifChanged)', () => {
  it('sends If-None-Match and If-Modified-Since; a 304 is notModified with no body', async () => {
    const { adapter, session, url, seen, modified } = await setup();
    const resource = await adapter.open(
      session,
      openRequest(url, { ifChanged: { etag: '"v1"', lastModified: modified } }),
    );
    expect(seen.at(-1)).toEqual({ inm: '"v1"', ims: modified });
    expect(resource.metadata).toMatchObject({ status: 304, notModified: true, etag: '"v1"' });
    expect((await readAll(resource.body)).length).toBe(0);
  });

  it('a changed file is served (200), and without ifChanged nothing conditional is sent', async () => {
    const { adapter, session, url, seen } = await setup();
    const changed = await adapter.open(session, openRequest(url, { ifChanged: { etag: '"v0"' } }));
    expect(changed.metadata.notModified).toBeUndefined();
    expect(Buffer.from(await readAll(changed.body)).toString()).toBe('hello');
    const plain = await adapter.open(session, openRequest(url));
    await readAll(plain.body);
    expect(seen.at(-1)).toEqual({ inm: undefined, ims: undefined });
  });
});
