import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@dl/core';
import { startHttpFixture, type HttpFixture } from '@dl/testkit';
import { http, type HttpAdapterOptions, type TokenProvider } from '../index.js';
import type { HttpSession } from '../http-session.js';
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

async function adapterSession(options: HttpAdapterOptions, perHost = 8) {
  const adapter = http(options);
  const session = (await adapter.createSession(
    sessionContext({ maxConnectionsPerHost: perHost }),
  )) as HttpSession;
  cleanup.push(() => session.destroy());
  return {
    adapter,
    session,
    get: async (url: string) =>
      (await readAll((await adapter.open(session, openRequest(url))).body)).toString(),
  };
}

/** A route that answers `ok` when `accept(authorization)`, else 401 with `challenge`. */
function guarded(
  accept: (authorization: string | undefined) => boolean,
  challenge = 'Basic realm="test"',
) {
  return (req: IncomingMessage, res: ServerResponse) => {
    if (accept(req.headers.authorization)) res.writeHead(200, { 'content-length': '2' }).end('ok');
    else res.writeHead(401, { 'www-authenticate': challenge, 'content-length': '6' }).end('denied');
  };
}

const basic = (user: string, pass: string) =>
  `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;

describe('auth', () => {
  it('basic: sent to the origin; a wrong password is auth-failed, not retryable', async () => {
    const server = await fixture();
    server.route(
      '/p',
      guarded((a) => a === basic('alice', 'wonderland')),
    );
    expect(
      await (
        await adapterSession({ auth: { type: 'basic', username: 'alice', password: 'wonderland' } })
      ).get(server.url('/p')),
    ).toBe('ok');
    const wrong = await adapterSession({
      auth: { type: 'basic', username: 'alice', password: 'nope' },
    });
    const error = await rejectionOf(wrong.get(server.url('/p')));
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    expect(error.retryable).toBe(false);
  });

  it('basic from URL userinfo, by reference from the environment, and bearer', async () => {
    const server = await fixture();
    server.route(
      '/p',
      guarded((a) => a === basic('bob', 'p@ss') || a === 'Bearer env-token'),
    );
    const { get } = await adapterSession({});
    const url = new URL(server.url('/p'));
    url.username = 'bob';
    url.password = encodeURIComponent('p@ss');
    expect(await get(url.href)).toBe('ok');
    process.env.DL_HTTP_TEST_TOKEN = 'env-token';
    try {
      const bearer = await adapterSession({
        auth: { type: 'bearer', token: { env: 'DL_HTTP_TEST_TOKEN' } },
      });
      expect(await bearer.get(server.url('/p'))).toBe('ok');
    } finally {
      delete process.env.DL_HTTP_TEST_TOKEN;
    }
    const missing = await rejectionOf(
      http({ auth: { type: 'bearer', token: { env: 'DL_HTTP_TEST_UNSET' } } }).createSession(
        sessionContext(),
      ) as Promise<unknown>,
    );
    expect(missing.code).toBe(ErrorCodes.InvalidRequest);
    expect(missing.message).toContain('DL_HTTP_TEST_UNSET');
  });

  it('sends credentials only to the origins they cover', async () => {
    const a = await fixture();
    const b = await fixture();
    a.put('/f', Buffer.from('a'));
    b.put('/f', Buffer.from('b'));
    const { get } = await adapterSession({
      auth: { type: 'bearer', token: 'only-for-a', origins: [a.origin] },
    });
    await get(a.url('/f'));
    await get(b.url('/f'));
    expect(a.requests().at(-1)?.headers.authorization).toBe('Bearer only-for-a');
    expect(b.requests().at(-1)?.headers.authorization).toBeUndefined();
  });

  it('100 concurrent downloads that hit a 401 cause one token refresh, then all succeed', async () => {
    const server = await fixture();
    let valid = 'token-1';
    server.route(
      '/t',
      guarded((a) => a === `Bearer ${valid}`, 'Bearer'),
    );
    let calls = 0;
    let refreshes = 0;
    const provider: TokenProvider = {
      async getToken({ rejected }) {
        calls++;
        if (rejected !== undefined) refreshes++;
        await new Promise((r) => setTimeout(r, 20));
        return `token-${calls}`;
      },
    };
    const { get } = await adapterSession({ auth: { type: 'token', provider } }, 8);
    expect(await get(server.url('/t'))).toBe('ok');
    expect(calls).toBe(1);
    valid = 'token-2';
    const results = await Promise.all(Array.from({ length: 100 }, () => get(server.url('/t'))));
    expect(results.every((r) => r === 'ok')).toBe(true);
    expect(refreshes).toBe(1);
    expect(calls).toBe(2);
  });

  it('a 401 after the refresh is auth-failed', async () => {
    const server = await fixture();
    server.route(
      '/t',
      guarded(() => false, 'Bearer'),
    );
    let calls = 0;
    const { get } = await adapterSession({
      auth: { type: 'token', provider: { getToken: async () => `t${++calls}` } },
    });
    const error = await rejectionOf(get(server.url('/t')));
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    expect(calls).toBe(2);
  });

  it('the OCI registry flow: one token per scope, fetched once for concurrent pulls, sent before the 401 next time', async () => {
    const registry = await fixture();
    const cdn = await fixture();
    cdn.put('/blob-data', Buffer.from('layer bytes'));
    const issued = new Set<string>();
    const tokenRequests: URL[] = [];
    registry.route('/token', (req, res) => {
      const url = new URL(req.url ?? '', registry.origin);
      tokenRequests.push(url);
      if (req.headers.authorization !== basic('puller', 'reg-secret')) {
        res.writeHead(401).end();
        return;
      }
      const token = `reg-token-${tokenRequests.length}`;
      issued.add(`${token} ${url.searchParams.get('scope')}`);
      res
        .writeHead(200, { 'content-type': 'application/json' })
        .end(JSON.stringify({ token, expires_in: 300 }));
    });
    const challenge = (scope: string) =>
      `Bearer realm="${registry.origin}/token",service="test-registry",scope="${scope}"`;
    const repo = (name: string) => (req: IncomingMessage, res: ServerResponse) => {
      const scope = `repository:${name}:pull`;
      const token = req.headers.authorization?.replace(/^Bearer /, '') ?? '';
      if (!issued.has(`${token} ${scope}`)) {
        res.writeHead(401, { 'www-authenticate': challenge(scope), 'content-length': '0' }).end();
        return;
      }
      if (req.url?.includes('/blobs/'))
        res.writeHead(307, { location: cdn.url('/blob-data') }).end();
      else res.writeHead(200, { 'content-length': '8' }).end('manifest');
    };
    for (let i = 0; i < 30; i++) registry.route(`/v2/lib/app/blobs/sha256:${i}`, repo('lib/app'));
    registry.route('/v2/lib/app/manifests/latest', repo('lib/app'));
    registry.route('/v2/other/manifests/latest', repo('other'));

    const { get } = await adapterSession({
      auth: {
        type: 'registry',
        username: 'puller',
        password: 'reg-secret',
        origins: [registry.origin],
      },
    });
    const blobs = await Promise.all(
      Array.from({ length: 30 }, (_, i) => get(registry.url(`/v2/lib/app/blobs/sha256:${i}`))),
    );
    expect(blobs.every((b) => b === 'layer bytes')).toBe(true);
    expect(tokenRequests).toHaveLength(1);
    expect(tokenRequests[0]?.searchParams.get('service')).toBe('test-registry');
    expect(tokenRequests[0]?.searchParams.get('scope')).toBe('repository:lib/app:pull');
    expect(cdn.requests().every((r) => r.headers.authorization === undefined)).toBe(true);

    registry.clearRequests();
    expect(await get(registry.url('/v2/lib/app/manifests/latest'))).toBe('manifest');
    expect(registry.requests().map((r) => r.path)).toEqual(['/v2/lib/app/manifests/latest']);

    expect(await get(registry.url('/v2/other/manifests/latest'))).toBe('manifest');
    expect(tokenRequests).toHaveLength(2);
  });

  it('the registry flow with wrong credentials is auth-failed', async () => {
    const registry = await fixture();
    registry.route('/token', (_req, res) => res.writeHead(401).end());
    registry.route(
      '/v2/x/manifests/1',
      guarded(() => false, `Bearer realm="${registry.origin}/token",scope="repository:x:pull"`),
    );
    const { get } = await adapterSession({
      auth: { type: 'registry', username: 'u', password: 'wrong-pass' },
    });
    const error = await rejectionOf(get(registry.url('/v2/x/manifests/1')));
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    expect(error.retryable).toBe(false);
  });
});
