import { createServer, type AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { DownloadError, ErrorCodes } from '@dl/core';
import { startHttpFixture } from '@dl/testkit';
import { http, registryTokenProvider, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';
import { startForwardProxy } from './test-support/forward-proxy.js';
import { capturingLogger, openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const SECRETS = [
  'basic-pass-1',
  'bearer-token-2',
  'proxy-pass-3',
  'userinfo-pass-4',
  'query-token-5',
  'registry-pass-6',
  'header-key-7',
  'passphrase-8',
  'issued-token-9',
];

function everything(error: unknown): string {
  const e = error as DownloadError;
  const cause = e.cause as Error | undefined;
  return [e.message, e.stack, JSON.stringify(e), cause?.message, cause?.stack, String(e)].join(
    '\n',
  );
}

describe('secrets', () => {
  it('appear in no error message, toJSON, stack, cause or log line', async () => {
    const log = capturingLogger();
    const server = await startHttpFixture();
    cleanup.push(() => server.stop());
    const proxy = await startForwardProxy({ username: 'p', password: 'something-else' });
    cleanup.push(() => proxy.stop());
    server.route('/denied', (_req, res) =>
      res.writeHead(401, { 'www-authenticate': 'Basic realm="x"' }).end(),
    );
    server.route('/registry', (_req, res) =>
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${server.origin}/token",scope="repository:a:pull"`,
        })
        .end(),
    );
    server.route('/token', (_req, res) =>
      res.writeHead(200).end(JSON.stringify({ token: 'issued-token-9' })),
    );
    server.route('/v2/a/manifests/x', (_req, res) =>
      res
        .writeHead(401, {
          'www-authenticate': `Bearer realm="${server.origin}/token",scope="repository:a:pull"`,
        })
        .end(),
    );
    const refused = createServer();
    await new Promise<void>((resolve) => refused.listen(0, '127.0.0.1', resolve));
    const closedPort = (refused.address() as AddressInfo).port;
    await new Promise((resolve) => refused.close(resolve));

    const errors: unknown[] = [];
    const attempt = async (options: HttpAdapterOptions, url: string) => {
      const adapter = http(options);
      const session = (await adapter.createSession(sessionContext({ log }))) as HttpSession;
      cleanup.push(() => session.destroy());
      errors.push(
        await rejectionOf(adapter.open(session, openRequest(url)).then((r) => readAll(r.body))),
      );
    };
    await attempt(
      {
        auth: { type: 'basic', username: 'u', password: 'basic-pass-1' },
        headers: { 'x-api-key': 'header-key-7' },
      },
      server.url('/denied'),
    );
    await attempt({ auth: { type: 'bearer', token: 'bearer-token-2' } }, server.url('/denied'));
    await attempt(
      { proxy: { url: proxy.url, username: 'p', password: 'proxy-pass-3' } },
      server.url('/denied'),
    );
    await attempt(
      {},
      server.url('/denied').replace('http://', 'http://user:userinfo-pass-4@') +
        '?token=query-token-5',
    );
    await attempt(
      {},
      `http://user:userinfo-pass-4@127.0.0.1:${closedPort}/x?access_token=query-token-5`,
    );
    await attempt(
      {
        auth: {
          type: 'token',
          provider: registryTokenProvider({ username: 'r', password: 'registry-pass-6' }),
        },
      },
      server.url('/v2/a/manifests/x'),
    );
    await attempt(
      { auth: { type: 'registry', username: 'r', password: 'registry-pass-6' } },
      `${server.url('/registry')}`,
    );
    const certs = await testCertificates();
    await attempt(
      {
        tls: {
          ca: certs.ca,
          key: certs.clientKey,
          cert: certs.clientCert,
          passphrase: 'passphrase-8',
        },
      },
      server.url('/denied'),
    );

    const codes = errors.map((e) => (e as DownloadError).code);
    expect(codes).toContain(ErrorCodes.AuthFailed);
    expect(codes).toContain(ErrorCodes.ConnectionFailed);
    const text = [...errors.map(everything), ...log.lines].join('\n');
    for (const secret of SECRETS) expect(text, `the text contains ${secret}`).not.toContain(secret);
    expect(text).not.toContain(Buffer.from('u:basic-pass-1').toString('base64'));
  });

  it('toJSON keeps references and redacts inline secrets; the result rebuilds the adapter', async () => {
    const certs = await testCertificates();
    const options: HttpAdapterOptions = {
      headers: {
        authorization: 'Bearer bearer-token-2',
        'x-api-key': { env: 'API_KEY' },
        accept: 'application/json',
      },
      userAgent: 'importer/1',
      auth: [
        {
          type: 'basic',
          username: 'alice',
          password: 'basic-pass-1',
          origins: ['https://a.example'],
        },
        { type: 'bearer', token: { env: 'DL_TOKEN' } },
        { type: 'registry', username: 'r', password: { file: '/run/secrets/registry' } },
        { type: 'token', provider: registryTokenProvider({ password: 'registry-pass-6' }) },
      ],
      tls: {
        ca: certs.caPath,
        cert: certs.clientCertPath,
        key: certs.clientKey,
        passphrase: 'passphrase-8',
      },
      proxy: {
        url: 'http://p:proxy-pass-3@127.0.0.1:3128',
        noProxy: 'localhost',
        password: { env: 'PROXY_PASS' },
      },
      timeouts: { connect: 5000, total: 60_000 },
      redirects: { max: 3 },
      allowH2: true,
    };
    const json = JSON.parse(JSON.stringify(http(options))) as Record<string, unknown>;
    const text = JSON.stringify(json);
    for (const secret of SECRETS) expect(text).not.toContain(secret);
    expect(text).not.toContain('PRIVATE KEY');
    expect(json).toMatchObject({
      headers: {
        authorization: { redacted: true },
        'x-api-key': { env: 'API_KEY' },
        accept: 'application/json',
      },
      userAgent: 'importer/1',
      auth: [
        {
          type: 'basic',
          username: 'alice',
          password: { redacted: true },
          origins: ['https://a.example'],
        },
        { type: 'bearer', token: { env: 'DL_TOKEN' } },
        { type: 'registry', username: 'r', password: { file: '/run/secrets/registry' } },
        { type: 'registry', password: { redacted: true } },
      ],
      tls: {
        ca: certs.caPath,
        cert: certs.clientCertPath,
        key: { redacted: true },
        passphrase: { redacted: true },
      },
      proxy: {
        url: 'http://127.0.0.1:3128/',
        noProxy: 'localhost',
        password: { env: 'PROXY_PASS' },
      },
      timeouts: { connect: 5000, total: 60_000 },
      redirects: { max: 3 },
      allowH2: true,
    });
    // A redacted secret cannot be used by mistake: rebuilding fails until it is given by reference.
    const rebuilt = http(json as HttpAdapterOptions);
    const error = await rejectionOf(Promise.resolve(rebuilt.createSession(sessionContext())));
    expect(error.code).toBe(ErrorCodes.InvalidRequest);
    expect(error.message).toMatch(/redacted/);

    process.env.DL_HTTP_JSON_TOKEN = 'bearer-token-2';
    try {
      const byReference = http({
        auth: { type: 'bearer', token: { env: 'DL_HTTP_JSON_TOKEN' } },
        tls: { ca: certs.caPath },
      });
      const again = http(JSON.parse(JSON.stringify(byReference)) as HttpAdapterOptions);
      const session = await again.createSession(sessionContext());
      await session.close();
      expect(JSON.stringify(again)).toBe(JSON.stringify(byReference));
    } finally {
      delete process.env.DL_HTTP_JSON_TOKEN;
    }
  });
});
