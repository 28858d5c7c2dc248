import { createSecureServer, type Http2SecureServer } from 'node:http2';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory } from '@dl/core';
import { http } from './index.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function h2Server() {
  const certs = await testCertificates();
  const counts = { sessions: 0, streams: 0, peakStreams: 0, versions: new Set<string>() };
  const server: Http2SecureServer = createSecureServer(
    { cert: certs.serverCert, key: certs.serverKey, allowHTTP1: true },
    (req, res) => {
      counts.versions.add(req.httpVersion);
      counts.streams++;
      counts.peakStreams = Math.max(counts.peakStreams, counts.streams);
      res.on('close', () => counts.streams--);
      setTimeout(
        () => res.writeHead(200, { 'content-length': '5000' }).end(Buffer.alloc(5000, 1)),
        5,
      );
    },
  );
  server.on('session', () => counts.sessions++);
  const sockets = new Set<import('node:net').Socket>();
  server.on('connection', (s: import('node:net').Socket) => {
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return { certs, counts, origin: `https://127.0.0.1:${(server.address() as AddressInfo).port}` };
}

describe('HTTP/2', () => {
  it('is negotiated only when allowed; per-host counts connections, each carrying streams', async () => {
    const { certs, counts, origin } = await h2Server();
    const factory = createDownloaderFactory({
      adapters: [http({ allowH2: true, tls: { ca: certs.ca } })],
      limits: { total: 16, perHost: 4 },
    });
    cleanup.push(() => factory.destroy());
    let ok = 0;
    const requests = Array.from({ length: 40 }, (_, i) => ({ url: `${origin}/f${i}`, size: 5000 }));
    for await (const outcome of factory.downloadAll(requests)) if (outcome.ok) ok++;
    expect(ok).toBe(40);
    expect([...counts.versions]).toEqual(['2.0']);
    // Up to the total limit (16) at once: per-host 4 caps connections, not streams.
    expect(counts.peakStreams).toBeGreaterThan(4);
    expect(counts.peakStreams).toBeLessThanOrEqual(16);
    expect(counts.sessions).toBeLessThanOrEqual(4);

    counts.versions.clear();
    const h1 = createDownloaderFactory({ adapters: [http({ tls: { ca: certs.ca } })] });
    cleanup.push(() => h1.destroy());
    await h1.download({ url: `${origin}/one`, size: 5000 });
    expect([...counts.versions]).toEqual(['1.1']);
  });
});
