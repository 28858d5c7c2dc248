import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@dl/core';
import { startHttpFixture } from '@dl/testkit';
import { http, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';
import { capturingLogger, openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';
import { startTlsFront } from './test-support/tls-front.js';
import type { TlsOptions } from 'node:tls';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function httpsServer(tls: TlsOptions) {
  const backend = await startHttpFixture();
  cleanup.push(() => backend.stop());
  backend.put('/f', Buffer.from('secure bytes'));
  const front = await startTlsFront(backend.port, tls);
  cleanup.push(() => front.stop());
  return front;
}

async function get(options: HttpAdapterOptions, url: string, log = capturingLogger()) {
  const adapter = http(options);
  const session = (await adapter.createSession(sessionContext({ log }))) as HttpSession;
  cleanup.push(() => session.destroy());
  return (await readAll((await adapter.open(session, openRequest(url))).body)).toString();
}

describe('TLS', () => {
  it('trusts a CA given as PEM text or as a file path, and nothing else', async () => {
    const certs = await testCertificates();
    const front = await httpsServer({ cert: certs.serverCert, key: certs.serverKey });
    expect(await get({ tls: { ca: certs.ca } }, `${front.origin}/f`)).toBe('secure bytes');
    expect(await get({ tls: { ca: [certs.caPath] } }, `${front.origin}/f`)).toBe('secure bytes');
    const error = await rejectionOf(get({}, `${front.origin}/f`));
    expect(error.code).toBe(ErrorCodes.UntrustedServer);
    expect(error.retryable).toBe(false);
  });

  it('refuses a self-signed server unless rejectUnauthorized is explicitly false (and then warns)', async () => {
    const certs = await testCertificates();
    const front = await httpsServer({ cert: certs.rogueCert, key: certs.rogueKey });
    const error = await rejectionOf(get({ tls: { ca: certs.ca } }, `${front.origin}/f`));
    expect(error.code).toBe(ErrorCodes.UntrustedServer);
    const log = capturingLogger();
    expect(await get({ tls: { rejectUnauthorized: false } }, `${front.origin}/f`, log)).toBe(
      'secure bytes',
    );
    expect(log.lines.some((line) => line.startsWith('warn') && line.includes('verification'))).toBe(
      true,
    );
  });

  it('presents a client certificate (files) and fails without one', async () => {
    const certs = await testCertificates();
    const front = await httpsServer({
      cert: certs.serverCert,
      key: certs.serverKey,
      ca: certs.ca,
      requestCert: true,
      rejectUnauthorized: true,
    });
    const withCert = {
      tls: { ca: certs.ca, cert: certs.clientCertPath, key: certs.clientKeyPath },
    };
    expect(await get(withCert, `${front.origin}/f`)).toBe('secure bytes');
    expect(
      await get(
        { tls: { ca: certs.ca, cert: certs.clientCert, key: certs.clientKey } },
        `${front.origin}/f`,
      ),
    ).toBe('secure bytes');
    const error = await rejectionOf(get({ tls: { ca: certs.ca } }, `${front.origin}/f`));
    expect(error.code).toBe(ErrorCodes.AuthFailed);
    expect(error.retryable).toBe(false);
    expect(front.failures()).toBeGreaterThan(0);
  });

  it('an unreadable PEM path is invalid-request at session creation', async () => {
    const error = await rejectionOf(
      Promise.resolve(http({ tls: { ca: '/nonexistent/ca.pem' } }).createSession(sessionContext())),
    );
    expect(error.code).toBe(ErrorCodes.InvalidRequest);
  });
});
