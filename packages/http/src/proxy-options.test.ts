import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@dl/core';
import { startHttpFixture } from '@dl/testkit';
import { http, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';
import { startForwardProxy, type ForwardProxy } from './test-support/forward-proxy.js';
import { openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';
import { startTlsFront } from './test-support/tls-front.js';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const credentials = { username: 'proxy-user', password: 'proxy-pass-42' };

async function servers() {
  const certs = await testCertificates();
  const backend = await startHttpFixture();
  cleanup.push(() => backend.stop());
  backend.put('/f', Buffer.from('through the proxy'));
  const front = await startTlsFront(backend.port, { cert: certs.serverCert, key: certs.serverKey });
  cleanup.push(() => front.stop());
  const proxy = await startForwardProxy(credentials);
  cleanup.push(() => proxy.stop());
  return { certs, backend, front, proxy };
}

async function client(options: HttpAdapterOptions, perHost = 8) {
  const adapter = http(options);
  const session = (await adapter.createSession(
    sessionContext({ maxConnectionsPerHost: perHost }),
  )) as HttpSession;
  cleanup.push(() => session.destroy());
  return async (url: string) =>
    (await readAll((await adapter.open(session, openRequest(url))).body)).toString();
}

const proxyAuth = `Basic ${Buffer.from('proxy-user:proxy-pass-42').toString('base64')}`;
const targets = (proxy: ForwardProxy) =>
  proxy.log().map((entry) => `${entry.method} ${entry.target}`);

describe('proxy', () => {
  it('sends http targets through the proxy with its credentials, never to the origin', async () => {
    const { backend, proxy } = await servers();
    const get = await client({ proxy: { url: proxy.url, ...credentials } });
    expect(await get(backend.url('/f'))).toBe('through the proxy');
    expect(targets(proxy)).toEqual([`GET ${backend.url('/f')}`]);
    expect(proxy.log()[0]?.headers['proxy-authorization']).toBe(proxyAuth);
    expect(backend.requests().at(-1)?.headers['proxy-authorization']).toBeUndefined();
  });

  it('tunnels https targets with CONNECT, proxy credentials from the proxy URL', async () => {
    const { certs, front, proxy, backend } = await servers();
    const url = new URL(proxy.url);
    url.username = credentials.username;
    url.password = credentials.password;
    const get = await client({ proxy: { url: url.href }, tls: { ca: certs.ca } });
    expect(await get(`${front.origin}/f`)).toBe('through the proxy');
    expect(targets(proxy)).toEqual([`CONNECT 127.0.0.1:${front.port}`]);
    expect(proxy.log()[0]?.headers['proxy-authorization']).toBe(proxyAuth);
    expect(backend.requests().at(-1)?.headers['proxy-authorization']).toBeUndefined();
  });

  it('wrong proxy credentials are auth-failed, for http and https targets', async () => {
    const { certs, front, proxy, backend } = await servers();
    const get = await client({
      proxy: { url: proxy.url, username: 'proxy-user', password: 'bad' },
      tls: { ca: certs.ca },
    });
    for (const url of [backend.url('/f'), `${front.origin}/f`]) {
      const error = await rejectionOf(get(url));
      expect(error.code).toBe(ErrorCodes.AuthFailed);
      expect(error.message).toMatch(/proxy/i);
    }
  });

  it('reaches excluded hosts directly', async () => {
    const { backend, proxy } = await servers();
    const get = await client({
      proxy: { url: proxy.url, ...credentials, noProxy: `example.org, 127.0.0.1:${backend.port}` },
    });
    expect(await get(backend.url('/f'))).toBe('through the proxy');
    expect(proxy.log()).toEqual([]);
  });

  it('reads HTTP_PROXY / NO_PROXY only when asked', async () => {
    const { backend, proxy } = await servers();
    const saved = {
      HTTP_PROXY: process.env.HTTP_PROXY,
      NO_PROXY: process.env.NO_PROXY,
      http_proxy: process.env.http_proxy,
    };
    const url = new URL(proxy.url);
    url.username = credentials.username;
    url.password = credentials.password;
    process.env.HTTP_PROXY = url.href;
    delete process.env.http_proxy;
    delete process.env.NO_PROXY;
    try {
      await (
        await client({})
      )(backend.url('/f'));
      await (
        await client({ proxy: {} })
      )(backend.url('/f'));
      expect(proxy.log()).toEqual([]);
      await (
        await client({ proxy: { fromEnvironment: true } })
      )(backend.url('/f'));
      expect(proxy.log()).toHaveLength(1);
      process.env.NO_PROXY = '127.0.0.1';
      await (
        await client({ proxy: { fromEnvironment: true } })
      )(backend.url('/f'));
      expect(proxy.log()).toHaveLength(1);
    } finally {
      for (const [name, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[name];
        else process.env[name] = value;
      }
    }
  });

  it('keeps the per-origin connection cap through a CONNECT proxy (counted by the server)', async () => {
    const { certs, front, proxy, backend } = await servers();
    backend.put('/c', Buffer.alloc(50_000, 7));
    const get = await client(
      { proxy: { url: proxy.url, ...credentials }, tls: { ca: certs.ca } },
      3,
    );
    const all = await Promise.all(Array.from({ length: 30 }, () => get(`${front.origin}/c`)));
    expect(all.every((body) => body.length === 50_000)).toBe(true);
    expect(backend.stats().peakConnections).toBeLessThanOrEqual(3);
    expect(proxy.log().filter((entry) => entry.method === 'CONNECT').length).toBeLessThanOrEqual(3);
  });
});
