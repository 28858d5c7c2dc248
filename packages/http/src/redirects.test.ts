import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@dl/core';
import { startHttpFixture, type HttpFixture } from '@dl/testkit';
import { http, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';
import { openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';
import { startTlsFront } from './test-support/tls-front.js';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function fixture(): Promise<HttpFixture> {
  const server = await startHttpFixture();
  cleanup.push(() => server.stop());
  return server;
}

async function open(
  options: HttpAdapterOptions,
  url: string,
  headers: Record<string, string> = {},
) {
  const adapter = http(options);
  const session = (await adapter.createSession(sessionContext())) as HttpSession;
  cleanup.push(() => session.destroy());
  return adapter.open(session, openRequest(url, { headers }));
}

describe('redirects', () => {
  it('follows a chain and names the final URL', async () => {
    const server = await fixture();
    server.put('/final.bin', Buffer.from('final'));
    server.redirect('/one', '/two', 301);
    server.redirect('/two', server.url('/final.bin'), 308);
    const resource = await open({}, server.url('/one'));
    expect((await readAll(resource.body)).toString()).toBe('final');
    expect(resource.metadata.url).toBe(server.url('/final.bin'));
  });

  it('drops Authorization and Cookie when the origin changes, and sends each origin its own credentials', async () => {
    const a = await fixture();
    const b = await fixture();
    const c = await fixture();
    b.put('/file', Buffer.from('from b'));
    c.put('/file', Buffer.from('from c'));
    a.redirect('/to-b', b.url('/file'));
    b.redirect('/to-c', c.url('/file'));
    const options: HttpAdapterOptions = {
      headers: { cookie: 'session=s3cr3t-cookie' },
      auth: [
        { type: 'bearer', token: 'token-for-c', origins: [c.origin] },
        { type: 'basic', username: 'alice', password: 'pw-for-a' },
      ],
    };
    const first = await open(options, a.url('/to-b'), { Authorization: 'Bearer caller-token' });
    expect((await readAll(first.body)).toString()).toBe('from b');
    expect(a.requests().at(-1)?.headers.authorization).toBe('Bearer caller-token');
    expect(a.requests().at(-1)?.headers.cookie).toBe('session=s3cr3t-cookie');
    expect(b.requests().at(-1)?.headers.authorization).toBeUndefined();
    expect(b.requests().at(-1)?.headers.cookie).toBeUndefined();

    const missing = await rejectionOf(open(options, a.url('/nothing')));
    expect(missing.code).toBe(ErrorCodes.NotFound);
    expect(a.requests().at(-1)?.headers.authorization).toBe(
      `Basic ${Buffer.from('alice:pw-for-a').toString('base64')}`,
    );

    // b is the request's own origin here; c has its own entry.
    const third = await open(options, b.url('/to-c'));
    expect((await readAll(third.body)).toString()).toBe('from c');
    expect(b.requests().at(-1)?.headers.authorization).toMatch(/^Basic /);
    expect(c.requests().at(-1)?.headers.authorization).toBe('Bearer token-for-c');
  });

  it('refuses an https to http downgrade unless allowed', async () => {
    const certs = await testCertificates();
    const plain = await fixture();
    plain.put('/file', Buffer.from('plain'));
    const backend = await fixture();
    backend.redirect('/down', plain.url('/file'));
    const front = await startTlsFront(backend.port, {
      cert: certs.serverCert,
      key: certs.serverKey,
    });
    cleanup.push(() => front.stop());
    const error = await rejectionOf(open({ tls: { ca: certs.ca } }, `${front.origin}/down`));
    expect(error.code).toBe(ErrorCodes.RedirectRefused);
    expect(error.retryable).toBe(false);
    expect(plain.stats().totalRequests).toBe(0);
    const allowed = await open(
      { tls: { ca: certs.ca }, redirects: { allowDowngrade: true } },
      `${front.origin}/down`,
    );
    expect((await readAll(allowed.body)).toString()).toBe('plain');
  });

  it('detects a loop', async () => {
    const server = await fixture();
    server.redirect('/a', '/b');
    server.redirect('/b', '/a');
    const error = await rejectionOf(open({}, server.url('/a')));
    expect(error.code).toBe(ErrorCodes.RedirectRefused);
    expect(error.message).toMatch(/loop/);
  });

  it('stops after the bound (default 10) and follows none with max 0', async () => {
    const server = await fixture();
    for (let i = 0; i < 12; i++) server.redirect(`/r${i}`, `/r${i + 1}`);
    server.put('/r12', Buffer.from('end'));
    server.put('/r1', Buffer.from('one')); // overridden by the route: routes win
    const error = await rejectionOf(open({}, server.url('/r0')));
    expect(error.code).toBe(ErrorCodes.RedirectRefused);
    expect(error.details).toMatchObject({ max: 10 });
    const ok = await open({ redirects: { max: 12 } }, server.url('/r0'));
    expect((await readAll(ok.body)).toString()).toBe('end');
    const none = await rejectionOf(open({ redirects: { max: 0 } }, server.url('/r11')));
    expect(none.code).toBe(ErrorCodes.RedirectRefused);
  });

  it('refuses a redirect to another scheme and keeps secrets out of the error', async () => {
    const server = await fixture();
    server.redirect('/ftp', 'ftp://user:hunter22@127.0.0.1/file');
    const error = await rejectionOf(open({}, `${server.url('/ftp')}?token=abc-secret-123`));
    expect(error.code).toBe(ErrorCodes.RedirectRefused);
    const text = `${error.message} ${JSON.stringify(error)} ${error.stack}`;
    expect(text).not.toContain('hunter22');
    expect(text).not.toContain('abc-secret-123');
  });
});
