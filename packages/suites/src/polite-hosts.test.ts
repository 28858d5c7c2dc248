import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createDownloaderFactory,
  type HostRecoveredEvent,
  type HostThrottle,
  type HostThrottledEvent,
} from '@dl/core';
import { http } from '@dl/http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

interface Seen {
  readonly path: string;
  readonly at: number;
}

/** A loopback HTTP server that records, server-side, when each request arrived and how many ran at once. */
async function listen(
  handle: (
    path: string,
    reply: (status: number, headers: Record<string, string>, body?: Buffer) => void,
  ) => void,
): Promise<{ server: Server; base: string; seen: Seen[]; running: () => number }> {
  const seen: Seen[] = [];
  let running = 0;
  const server = createServer((req, res) => {
    running++;
    res.on('close', () => running--);
    const path = req.url ?? '/';
    seen.push({ path, at: Date.now() });
    handle(path, (status, headers, body) => {
      res.writeHead(status, { 'content-length': String(body?.length ?? 0), ...headers });
      res.end(body);
    });
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return { server, base: `http://127.0.0.1:${port}`, seen, running: () => running };
}

describe('polite to every host (HTTP)', () => {
  const small = Buffer.alloc(10_000, 1);
  let a: Awaited<ReturnType<typeof listen>>;
  let b: Awaited<ReturnType<typeof listen>>;
  let said429 = 0;
  let said429At = 0;
  let peakAfterPause = 0;

  beforeAll(async () => {
    a = await listen((path, reply) => {
      if (path === '/busy' && said429++ === 0) {
        said429At = Date.now();
        return reply(429, { 'retry-after': '2' });
      }
      if (said429At > 0 && Date.now() >= said429At + 2000)
        peakAfterPause = Math.max(peakAfterPause, a.running());
      // The slow one is in flight into the pause: it must not be cut.
      setTimeout(() => reply(200, {}, small), path === '/slow' ? 1500 : 60);
    });
    b = await listen((_path, reply) => setTimeout(() => reply(200, {}, small), 80));
  });
  afterAll(async () => {
    for (const site of [a, b]) {
      site?.server.closeAllConnections();
      site?.server.close();
    }
  });

  it('429 + Retry-After: 2 pauses that host for 2 s (server-side), the other host goes on, the limit halves and recovers', async () => {
    await using factory = createDownloaderFactory({
      adapters: [http()],
      limits: { total: 4, perHost: 2 },
      retry: { baseDelayMs: 10 },
    });
    const throttled: HostThrottledEvent[] = [];
    const recovered: HostRecoveredEvent[] = [];
    factory.on('host-throttled', (event) => throttled.push(event));
    const back = new Promise<void>((done) =>
      factory.on('host-recovered', (event) => {
        recovered.push(event);
        done();
      }),
    );
    let during: HostThrottle | undefined;
    const watch = setInterval(() => (during ??= factory.stats().throttled[0]), 50);
    const requests = [
      `${a.base}/slow`,
      `${a.base}/busy`,
      ...Array.from({ length: 6 }, (_, i) => `${a.base}/f/${i}`),
      ...Array.from({ length: 60 }, (_, i) => `${b.base}/g/${i}`),
    ].map((url) => ({ url, size: small.length }));
    const failed: string[] = [];
    const attempts = new Map<string, number>();
    for await (const outcome of factory.downloadAll(requests)) {
      if (!outcome.ok) failed.push(`${outcome.request.url}: ${outcome.error.message}`);
      else attempts.set(new URL(outcome.request.url).pathname, outcome.result.attempts);
    }
    clearInterval(watch);
    expect(failed).toEqual([]);
    expect(said429At).toBeGreaterThan(0);

    // No new request reached host A for 2 s after its 429 (server-side timestamps)…
    const aAfter = a.seen.filter((s) => s.at > said429At);
    expect(aAfter.length).toBe(7); // the retried /busy and /f/0…5
    expect(Math.min(...aAfter.map((s) => s.at))).toBeGreaterThanOrEqual(said429At + 2000);
    // …and was asked again soon after the hint expired.
    expect(Math.min(...aAfter.map((s) => s.at))).toBeLessThan(said429At + 2500);
    // …while host B kept being asked.
    const bDuring = b.seen.filter((s) => s.at > said429At && s.at < said429At + 2000);
    expect(bDuring.length).toBeGreaterThanOrEqual(15);
    // The transfer in flight during the pause was not cut.
    expect(attempts.get('/slow')).toBe(1);
    console.log(
      `429: first request to A ${Math.min(...aAfter.map((s) => s.at)) - said429At} ms after the 429; ${bDuring.length} requests to B meanwhile; A at most ${peakAfterPause} at once after the pause`,
    );

    // The limit: halved (2 → 1) and shown while paused; one at a time after the pause.
    expect(throttled).toEqual([
      expect.objectContaining({
        origin: a.base,
        limit: 1,
        configuredLimit: 2,
        reason: 'HTTP 429',
        pauseMs: 2000,
        hinted: true,
      }),
    ]);
    expect(during).toMatchObject({
      origin: a.base,
      limit: 1,
      configuredLimit: 2,
      reason: 'HTTP 429',
    });
    expect(during!.pausedUntil).toBeGreaterThanOrEqual(said429At + 2000);
    expect(peakAfterPause).toBeLessThanOrEqual(1);
    // …and climbs back one step per quiet period (5 s without a signal): 1 → 2, recovered.
    await back;
    expect(recovered).toEqual([{ origin: a.base, limit: 2 }]);
    expect(factory.stats().throttled).toEqual([]);
  }, 30_000);
});
