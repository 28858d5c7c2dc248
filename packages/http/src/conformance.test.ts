import { afterAll, it } from 'vitest';
import {
  adapterConformance,
  httpConformanceFixture,
  type HttpConformanceFixture,
} from '@dl/testkit';
import { http } from './index.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';
import { startTlsFront } from './test-support/tls-front.js';

afterAll(removeTestCertificates);

adapterConformance(it, {
  name: 'http',
  fixture: () => httpConformanceFixture(),
  adapter: () => http(),
  builder: http,
});

interface HttpsConformanceFixture extends HttpConformanceFixture {
  /** The CA that signed the server's certificate. */
  readonly caPath: string;
}

/** The HTTP fixture behind a TLS terminator: one backend connection per TLS connection, so counts and cuts carry over. */
async function httpsConformanceFixture(): Promise<HttpsConformanceFixture> {
  const certs = await testCertificates();
  const inner = await httpConformanceFixture();
  const front = await startTlsFront(inner.http.port, {
    cert: certs.serverCert,
    key: certs.serverKey,
  });
  return {
    ...inner,
    caPath: certs.caPath,
    url: (path) => `${front.origin}${path.startsWith('/') ? path : `/${path}`}`,
    async stop() {
      await front.stop();
      await inner.stop();
    },
  };
}

adapterConformance(it, {
  name: 'https',
  fixture: () => httpsConformanceFixture(),
  adapter: (fixture) => http({ tls: { ca: fixture.caPath } }),
  builder: http,
});
