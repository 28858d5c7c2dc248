import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer as createHttpsServer } from 'node:https';
import {
  constants,
  createSecureServer,
  type Http2ServerRequest,
  type Http2ServerResponse,
  type ServerHttp2Session,
} from 'node:http2';
import type { AddressInfo, Server, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory, type DownloaderFactoryOptions } from '@dl/core';
import { localGate } from './dispatchers.js';
import { http } from './index.js';
import { removeTestCertificates, testCertificates } from './test-support/certificates.js';

afterAll(removeTestCertificates);

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

const FILE = Buffer.from(Array.from({ length: 16_384 }, (_, i) => (i * 31) & 0xff));

type Handler = (req: Http2ServerRequest, res: Http2ServerResponse) => void;

/** What the server saw: connections open now and at most, requests in flight now and at most. */
interface Counts {
  connections: number;
  peakConnections: number;
  allConnections: number;
  inFlight: number;
  peakInFlight: number;
  versions: Set<string>;
}

function counted(server: Server, counts: Counts): void {
  const sockets = new Set<Socket>();
  server.on('secureConnection', (socket: Socket) => {
    sockets.add(socket);
    counts.allConnections++;
    counts.peakConnections = Math.max(counts.peakConnections, ++counts.connections);
    socket.once('close', () => {
      counts.connections--;
      sockets.delete(socket);
    });
  });
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
}

function newCounts(): Counts {
  return {
    connections: 0,
    peakConnections: 0,
    allConnections: 0,
    inFlight: 0,
    peakInFlight: 0,
    versions: new Set(),
  };
}

/** Counts a request in flight until its response closes. */
function track(counts: Counts, version: string, res: { once(e: 'close', f: () => void): unknown }) {
  counts.versions.add(version);
  counts.peakInFlight = Math.max(counts.peakInFlight, ++counts.inFlight);
  res.once('close', () => counts.inFlight--);
}

/** A `node:http2` secure server (ALPN h2 + http/1.1) answering each request after `delayMs`. */
async function h2Server(handler?: Handler, delayMs = 20) {
  const certs = await testCertificates();
  const counts = newCounts();
  const sessions = new Set<ServerHttp2Session>();
  const server = createSecureServer(
    { cert: certs.serverCert, key: certs.serverKey, allowHTTP1: true },
    (req, res) => {
      track(counts, req.httpVersion, res);
      if (handler) return handler(req, res);
      setTimeout(() => res.writeHead(200, { 'content-length': FILE.length }).end(FILE), delayMs);
    },
  );
  server.on('session', (session: ServerHttp2Session) => {
    sessions.add(session);
    session.once('close', () => sessions.delete(session));
  });
  counted(server, counts);
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { certs, counts, sessions, origin };
}

function factoryFor(
  ca: string,
  options: Partial<DownloaderFactoryOptions> = {},
  extra: Parameters<typeof http>[0] = {},
) {
  const factory = createDownloaderFactory({
    adapters: [http({ allowH2: true, tls: { ca }, ...extra })],
    limits: { total: 64, perHost: 2 },
    retry: { maxAttempts: 5, baseDelayMs: 10, maxDelayMs: 50 },
    ...options,
  });
  cleanup.push(() => factory.destroy());
  return factory;
}

async function downloadMany(factory: ReturnType<typeof factoryFor>, origin: string, n: number) {
  const requests = Array.from({ length: n }, (_, i) => ({
    url: `${origin}/f${i}`,
    size: FILE.length,
  }));
  const failures: string[] = [];
  let ok = 0;
  for await (const outcome of factory.downloadAll(requests)) {
    if (outcome.ok) ok++;
    else failures.push(`${outcome.error.code}: ${outcome.error.message}`);
  }
  return { ok, failures };
}

describe('HTTP/2 multiplexing under the per-host limit', () => {
  it('runs many streams at once over at most per-host connections', async () => {
    const { certs, counts, origin } = await h2Server();
    const factory = factoryFor(certs.ca);
    const { ok, failures } = await downloadMany(factory, origin, 200);
    expect(failures).toEqual([]);
    expect(ok).toBe(200);
    expect([...counts.versions]).toEqual(['2.0']);
    expect(counts.peakConnections).toBeLessThanOrEqual(2);
    // 64 is the factory's total limit: the per-host limit of 2 no longer caps streams.
    expect(counts.peakInFlight).toBeGreaterThan(2);
    expect(counts.peakInFlight).toBeLessThanOrEqual(64);
  });

  it('carries at most maxConcurrentStreams transfers per connection', async () => {
    const { certs, counts, origin } = await h2Server();
    const factory = factoryFor(certs.ca, {}, { maxConcurrentStreams: 3 });
    const { ok } = await downloadMany(factory, origin, 60);
    expect(ok).toBe(60);
    expect(counts.peakConnections).toBeLessThanOrEqual(2);
    expect(counts.peakInFlight).toBeGreaterThan(2);
    expect(counts.peakInFlight).toBeLessThanOrEqual(6);
  });

  it('keeps one request per connection with an HTTP/1.1-only server', async () => {
    const certs = await testCertificates();
    const counts = newCounts();
    const server = createHttpsServer(
      { cert: certs.serverCert, key: certs.serverKey },
      (req, res) => {
        track(counts, req.httpVersion, res);
        setTimeout(() => res.writeHead(200, { 'content-length': FILE.length }).end(FILE), 5);
      },
    );
    counted(server, counts);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const origin = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;
    const factory = factoryFor(certs.ca);
    const { ok, failures } = await downloadMany(factory, origin, 40);
    expect(failures).toEqual([]);
    expect(ok).toBe(40);
    expect([...counts.versions]).toEqual(['1.1']);
    expect(counts.peakConnections).toBeLessThanOrEqual(2);
    expect(counts.peakInFlight).toBeLessThanOrEqual(2);
  });

  it('resumes over HTTP/2 with Range after a stream is reset mid-body', async () => {
    const size = 200_000;
    const data = Buffer.from(Array.from({ length: size }, (_, i) => (i * 7) & 0xff));
    const ranges: (string | undefined)[] = [];
    const { certs, origin } = await h2Server((req, res) => {
      const range = req.headers.range;
      ranges.push(range);
      const headers = { etag: '"v1"', 'accept-ranges': 'bytes' };
      if (range === undefined) {
        res.writeHead(200, { ...headers, 'content-length': size });
        res.write(data.subarray(0, 80_000), () =>
          setTimeout(() => req.stream.close(constants.NGHTTP2_INTERNAL_ERROR), 20),
        );
        return;
      }
      const start = Number(/bytes=(\d+)-/.exec(range)?.[1]);
      res
        .writeHead(206, {
          ...headers,
          'content-length': size - start,
          'content-range': `bytes ${start}-${size - 1}/${size}`,
        })
        .end(data.subarray(start));
    });
    const dir = await mkdtemp(join(tmpdir(), 'dl-h2-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const factory = factoryFor(certs.ca);
    const result = await factory.download({ url: `${origin}/big`, destination: join(dir, 'big') });
    expect(ranges[0]).toBeUndefined();
    expect(ranges[1]).toMatch(/^bytes=[1-9]\d*-$/);
    expect(result.resumedBytes).toBeGreaterThan(0);
    expect(Buffer.compare(await readFile(join(dir, 'big')), data)).toBe(0);
  });

  it('frees the stream of a download aborted mid-body and keeps the connection', async () => {
    let closedStreams = 0;
    const { certs, counts, origin } = await h2Server((req, res) => {
      res.once('close', () => closedStreams++);
      if (req.url === '/stall') {
        // Half the body, then nothing: only the client can end this stream.
        res.writeHead(200, { 'content-length': 100_000 }).write(Buffer.alloc(50_000, 1));
        return;
      }
      res.writeHead(200, { 'content-length': FILE.length }).end(FILE);
    });
    const factory = factoryFor(certs.ca);
    await factory.download({ url: `${origin}/warm`, size: FILE.length });
    const controller = new AbortController();
    const stalled = factory.download({ url: `${origin}/stall`, signal: controller.signal });
    await expect.poll(() => counts.inFlight).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 50));
    controller.abort();
    await expect(stalled).rejects.toMatchObject({ code: 'aborted' });
    await expect.poll(() => counts.inFlight).toBe(0);
    expect(closedStreams).toBe(2);
    await factory.download({ url: `${origin}/after`, size: FILE.length });
    // One connection carried all three: the abort reset a stream, not the connection.
    expect(counts.allConnections).toBe(1);
  });

  it('retries cleanly when the server sends GOAWAY and closes sessions mid-run', async () => {
    let served = 0;
    const server = await h2Server((req, res) => {
      served++;
      setTimeout(() => {
        res.writeHead(200, { 'content-length': FILE.length }).end(FILE);
        // Every 25th answer, the server retires its session: GOAWAY, then the end of the connection.
        if (served % 25 === 0) {
          const session = req.stream.session;
          session?.goaway(constants.NGHTTP2_NO_ERROR);
          setTimeout(() => session?.destroy(), 50);
        }
      }, 5);
    });
    // undici 7 may leave a request of a session that got GOAWAY unanswered: a timeout ends it and a retry succeeds.
    const factory = factoryFor(server.certs.ca, {}, { timeouts: { headers: 2000, total: 5000 } });
    const { ok, failures } = await downloadMany(factory, server.origin, 150);
    expect(failures).toEqual([]);
    expect(ok).toBe(150);
    // It reconnected: the sessions that said GOAWAY were replaced.
    expect(server.counts.allConnections).toBeGreaterThan(1);
  });

  it('retries cleanly when the server destroys a busy session', async () => {
    let served = 0;
    const server = await h2Server((req, res) => {
      if (++served === 30) {
        // Streams in flight on this session die with it.
        req.stream.session?.destroy();
        return;
      }
      setTimeout(() => res.writeHead(200, { 'content-length': FILE.length }).end(FILE), 10);
    });
    const factory = factoryFor(server.certs.ca);
    const { ok, failures } = await downloadMany(factory, server.origin, 120);
    expect(failures).toEqual([]);
    expect(ok).toBe(120);
  });
});

describe('localGate', () => {
  it('holds a socket slot until a moment after its close, then hands it to the next in line', async () => {
    const gate = localGate(2);
    const origin = 'https://h.test:443';
    const first = await gate.acquire(origin);
    await gate.acquire(origin);
    let third = false;
    const waiting = gate.acquire(origin).then((release) => ((third = true), release));
    const aborted = new AbortController();
    const gaveUp = gate.acquire(origin, aborted.signal);
    aborted.abort(new Error('gave up'));
    await expect(gaveUp).rejects.toThrow('gave up');
    // Another origin has its own slots.
    await gate.acquire('https://other.test:443');
    first();
    first();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(third).toBe(false);
    const release = await waiting;
    expect(third).toBe(true);
    release();
  });
});
