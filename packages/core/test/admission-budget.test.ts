import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  Limiter,
  type AdmissionBudget,
  type BudgetInit,
  DownloadError,
  ErrorCodes,
  type DownloadRequest,
  type HostSignal,
  type OpenInterceptor,
  type Permit,
  type SessionContext,
} from '../src/index.js';

/**
 * A budget that can only answer later, as one on Redis does: every grant goes
 * through a timer, and there is no `tryAcquire`.
 */
function laggingBudget(init: BudgetInit, log: { closed: number; asked: number }): AdmissionBudget {
  const inner = new Limiter(init);
  return {
    total: init.total,
    get active() {
      return inner.active;
    },
    async acquire(origin: string, signal?: AbortSignal): Promise<Permit> {
      log.asked++;
      const permit = await inner.acquire(origin, signal);
      await new Promise((resolve) => setTimeout(resolve, 1));
      if (signal?.aborted) {
        permit.release();
        throw signal.reason;
      }
      return permit;
    },
    onRelease: (listener) => inner.onRelease(listener),
    async close() {
      log.closed++;
    },
  };
}

describe('admission budget contract', () => {
  it('an asynchronous budget: limits hold over 3 hosts, every outcome once, the budget closed once', async () => {
    const store = createMemoryStore();
    const hosts = ['a.test', 'b.test', 'c.test'];
    for (const host of hosts) store.generate(host, 256);
    for (let i = 0; i < 900; i += 5)
      store.fault(`mem://${hosts[i % 3]}/f/${i}`, { firstByteDelayMs: 2 });
    const log = { closed: 0, asked: 0 };
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 128 })],
      limits: { total: 8, perHost: 3 },
      budget: (init) => laggingBudget(init, log),
    });
    function* requests(): Generator<DownloadRequest<{ n: number }>> {
      for (let i = 0; i < 900; i++)
        yield { url: `mem://${hosts[i % 3]}/f/${i}`, size: 256, context: { n: i } };
    }
    const seen = new Set<number>();
    for await (const outcome of factory.downloadAll(requests())) {
      expect(outcome.ok).toBe(true);
      expect(seen.has(outcome.context.n)).toBe(false);
      seen.add(outcome.context.n);
    }
    expect(seen.size).toBe(900);
    expect(log.asked).toBeGreaterThanOrEqual(900);
    for (const host of hosts) expect(store.peak(host)).toBeLessThanOrEqual(3);
    expect(store.peak()).toBeLessThanOrEqual(8);
    await factory.close();
    await factory.destroy();
    expect(log.closed).toBe(1);
  });

  it('a full origin does not hold up others, and leaving the loop gives every permit back', async () => {
    const store = createMemoryStore();
    store.generate('slow.test', 64);
    store.generate('fast.test', 64);
    for (let i = 0; i < 40; i++) store.fault(`mem://slow.test/${i}`, { firstByteDelayMs: 200 });
    let budget: AdmissionBudget | undefined;
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      limits: { total: 6, perHost: 2 },
      budget: (init) => (budget = laggingBudget(init, { closed: 0, asked: 0 })),
    });
    // Slow requests first: the fast host must still get its slots.
    const requests = [
      ...Array.from({ length: 40 }, (_, i) => ({ url: `mem://slow.test/${i}` })),
      ...Array.from({ length: 20 }, (_, i) => ({ url: `mem://fast.test/${i}` })),
    ];
    let fast = 0;
    for await (const outcome of factory.downloadAll(requests)) {
      expect(outcome.ok).toBe(true);
      if (new URL(outcome.request.url).host === 'fast.test') fast++;
      if (fast === 20) break;
    }
    expect(fast).toBe(20);
    expect(store.peak('slow.test')).toBeLessThanOrEqual(2);
    expect(budget!.active).toBe(0);
    expect(store.active()).toBe(0);
  });

  it('a download that hears 429 or a refusal tells the budget about that host; a 404 says nothing', async () => {
    const store = createMemoryStore();
    store.generate('busy.test', 32);
    store.generate('gone.test', 32);
    const heard: [string, HostSignal][] = [];
    let failed = 0;
    // Answers for the server: the first try of each path fails the way that path says.
    const server: OpenInterceptor = (next) => async (request) => {
      if (failed < 3 && request.url.pathname.startsWith('/f/')) {
        failed++;
        const kind = request.url.pathname;
        if (kind === '/f/0')
          throw new DownloadError('HTTP 429 Too Many Requests', {
            code: ErrorCodes.RemoteUnavailable,
            retryable: true,
            url: request.url,
            retryAfterMs: 20,
            details: { status: 429 },
          });
        if (kind === '/f/1')
          throw new DownloadError('Connection refused', {
            code: ErrorCodes.ConnectionFailed,
            retryable: true,
            url: request.url,
            cause: Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }),
          });
        throw new DownloadError('HTTP 404 Not Found', {
          code: ErrorCodes.NotFound,
          url: request.url,
          details: { status: 404 },
        });
      }
      return next(request);
    };
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      interceptors: [server],
      retry: { baseDelayMs: 1 },
      budget: (init) =>
        Object.assign(new Limiter(init), {
          hostSignal: (origin: string, said: HostSignal) => heard.push([origin, said]),
        }),
    });
    const outcomes = [];
    for await (const outcome of factory.downloadAll([
      { url: 'mem://busy.test/f/0' },
      { url: 'mem://busy.test/f/1' },
      { url: 'mem://gone.test/f/2' },
    ]))
      outcomes.push(outcome);
    expect(outcomes.filter((o) => o.ok)).toHaveLength(2);
    expect(heard).toHaveLength(2);
    expect(heard).toContainEqual([
      'mem://busy.test',
      { kind: 'throttled', reason: 'HTTP 429', retryAfterMs: 20 },
    ]);
    expect(heard).toContainEqual(['mem://busy.test', { kind: 'refused', reason: 'ECONNREFUSED' }]);
  });

  it('a budget that counts connections: every adapter session gets its gate and an idle cap of 1 s', async () => {
    const seen: [number | undefined, boolean][] = [];
    const taken: string[] = [];
    const spy = (gated: boolean) => {
      const inner = memoryAdapter(createMemoryStore());
      return createDownloaderFactory({
        adapters: [
          {
            ...inner,
            createSession: async (context: SessionContext) => {
              seen.push([context.maxIdleMs, context.connectionGate !== undefined]);
              const release = await context.connectionGate?.acquire('mem://a.test');
              release?.();
              return inner.createSession(context);
            },
          },
        ],
        budget: (init) =>
          gated
            ? Object.assign(new Limiter(init), {
                connections: (origin: string) => {
                  taken.push(origin);
                  return Promise.resolve(() => undefined);
                },
              })
            : new Limiter(init),
      });
    };
    for (const gated of [true, false]) {
      await using factory = spy(gated);
      await factory.session('mem');
    }
    expect(seen).toEqual([
      [1000, true],
      [undefined, false],
    ]);
    expect(taken).toEqual(['mem://a.test']);
  });
});
