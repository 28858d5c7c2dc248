import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  DownloadError,
  ErrorCodes,
  Limiter,
  type BudgetInit,
  type HostRecoveredEvent,
  type HostThrottledEvent,
  type OpenInterceptor,
} from '../src/index.js';

const A = 'mem://a.test';
const B = 'mem://b.test';

function limiter(init: Partial<BudgetInit> = {}, quietMs = 100) {
  const events: [string, unknown][] = [];
  const budget = new Limiter(
    {
      total: 16,
      perHost: 4,
      limitFor: () => init.perHost ?? 4,
      report: (event, payload) => events.push([event, payload]),
      ...init,
    },
    { quietMs, random: () => 1, basePauseMs: 100 },
  );
  return { budget, events };
}

const tick = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('host politeness (in-process limiter)', () => {
  it('a hinted signal pauses one origin only, wakes listeners when it ends, halves the limit and climbs back one step per quiet period', async () => {
    const { budget, events } = limiter();
    let woken = 0;
    budget.onRelease(() => woken++);
    budget.hostSignal(A, { kind: 'throttled', reason: 'HTTP 429', retryAfterMs: 150 });
    // A second signal of the same burst only extends the pause: the limit halves once.
    budget.hostSignal(A, { kind: 'throttled', reason: 'HTTP 429', retryAfterMs: 100 });
    expect(budget.tryAcquire(A)).toBeUndefined();
    const b = budget.tryAcquire(B);
    expect(b).toBeDefined();
    expect(budget.throttledHosts()).toEqual([
      expect.objectContaining({ origin: A, limit: 2, configuredLimit: 4, reason: 'HTTP 429' }),
    ]);
    const paused = budget.throttledHosts()[0]!.pausedUntil!;
    expect(paused - Date.now()).toBeGreaterThan(100);
    // A waiter for the paused origin holds up nobody else.
    const waiting = budget.acquire(A);
    expect(budget.tryAcquire(B)).toBeDefined();
    const first = await waiting;
    expect(Date.now()).toBeGreaterThanOrEqual(paused);
    expect(woken).toBeGreaterThanOrEqual(1);
    // Limit 2 now: a third transfer to A waits.
    expect(budget.tryAcquire(A)).toBeDefined();
    expect(budget.tryAcquire(A)).toBeUndefined();
    expect(budget.throttledHosts()[0]).toMatchObject({ limit: 2 });
    expect(budget.throttledHosts()[0]!.pausedUntil).toBeUndefined();
    await tick(130);
    expect(budget.throttledHosts()[0]).toMatchObject({ limit: 3 });
    await tick(100);
    expect(budget.throttledHosts()).toEqual([]);
    expect(events.map(([name]) => name)).toEqual([
      'host-throttled',
      'host-throttled',
      'host-recovered',
    ]);
    expect(events[0]![1]).toMatchObject({ origin: A, pauseMs: 150, hinted: true, limit: 2 });
    expect(events[2]![1]).toEqual({ origin: A, limit: 4 } satisfies HostRecoveredEvent);
    first.release();
    // State is forgotten once quiet at the full limit.
    await tick(150);
    expect((budget as unknown as { throttledHosts(): unknown[] }).throttledHosts()).toEqual([]);
  });

  it('without a hint the pause grows exponentially (full jitter); refusals count only in a burst', () => {
    const { budget, events } = limiter({}, 10_000);
    for (let i = 0; i < 2; i++) budget.hostSignal(B, { kind: 'refused', reason: 'ECONNREFUSED' });
    expect(budget.throttledHosts()).toEqual([]);
    budget.hostSignal(B, { kind: 'refused', reason: 'ECONNREFUSED' });
    expect(budget.throttledHosts()).toEqual([
      expect.objectContaining({ origin: B, reason: 'ECONNREFUSED ×3', limit: 2 }),
    ]);
    budget.hostSignal(B, { kind: 'throttled', reason: 'HTTP 503' });
    budget.hostSignal(B, { kind: 'throttled', reason: 'HTTP 503' });
    const pauses = events.map(([, p]) => (p as HostThrottledEvent).pauseMs);
    expect(pauses).toEqual([100, 200, 400]);
    void budget.close();
    expect(budget.throttledHosts()).toEqual([]);
  });

  it('bandwidth: readers pay into a token bucket, total and per host', async () => {
    const { budget } = limiter({ rate: 1_000_000, ratePerHost: 500_000 });
    const signal = new AbortController().signal;
    const read = async (origin: string, bytes: number) => {
      for (let done = 0; done < bytes; done += 50_000) {
        const wait = budget.takeBytes(origin, 50_000, signal);
        if (wait) await wait;
      }
    };
    let started = Date.now();
    await read(A, 500_000); // per host 500 kB/s, 64 KiB burst: about 0.87 s
    let took = Date.now() - started;
    expect(took).toBeGreaterThan(750);
    expect(took).toBeLessThan(1100);
    started = Date.now();
    await Promise.all([read(A, 400_000), read(B, 400_000)]); // both under 1 MB/s total
    took = Date.now() - started;
    expect(took).toBeGreaterThan(650);
    expect(took).toBeLessThan(1000);
    const { budget: uncapped } = limiter();
    expect(uncapped.takeBytes(A, 1 << 20, signal)).toBeUndefined();
  });

  it('a factory: a 429 from one host pauses it for every download, stats() and events show it, the other host goes on', async () => {
    const store = createMemoryStore();
    store.generate('a.test', 64);
    store.generate('b.test', 64);
    const seen: { host: string; at: number }[] = [];
    let said429 = 0;
    const server: OpenInterceptor = (next) => async (request) => {
      seen.push({ host: request.url.host, at: Date.now() });
      if (request.url.pathname === '/f/busy' && said429++ === 0)
        throw new DownloadError('HTTP 429 Too Many Requests', {
          code: ErrorCodes.RemoteUnavailable,
          retryable: true,
          url: request.url,
          retryAfterMs: 400,
          details: { status: 429 },
        });
      await tick(20);
      return next(request);
    };
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [server],
      limits: { total: 4, perHost: 2 },
      retry: { baseDelayMs: 1 },
    });
    const throttled: HostThrottledEvent[] = [];
    factory.on('host-throttled', (event) => throttled.push(event));
    const requests = [
      { url: `${A}/f/busy` },
      ...Array.from({ length: 6 }, (_, i) => ({ url: `${A}/f/${i}` })),
      ...Array.from({ length: 30 }, (_, i) => ({ url: `${B}/f/${i}` })),
    ];
    let statsDuring: unknown;
    let ok = 0;
    for await (const outcome of factory.downloadAll(requests)) {
      if (outcome.ok) ok++;
      statsDuring ??= factory.stats().throttled[0];
    }
    expect(ok).toBe(requests.length);
    expect(throttled).toHaveLength(1);
    const t0 = seen.find((s) => s.host === 'a.test')!.at;
    const pausedA = seen.filter((s) => s.host === 'a.test' && s.at > t0 + 5 && s.at < t0 + 400);
    expect(pausedA).toEqual([]);
    const duringB = seen.filter((s) => s.host === 'b.test' && s.at > t0 && s.at < t0 + 400);
    expect(duringB.length).toBeGreaterThan(5);
    expect(statsDuring).toMatchObject({
      origin: A,
      limit: 1,
      configuredLimit: 2,
      reason: 'HTTP 429',
    });
  });
});
