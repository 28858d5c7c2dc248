import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import { createDownloaderFactory, type DownloadRequest } from '../src/index.js';

describe('scheduler limits', () => {
  it('5,000 requests over 3 hosts at total 16 / per host 4: limits hold, every outcome once, contexts round-trip', async () => {
    const store = createMemoryStore();
    const hosts = ['a.test', 'b.test', 'c.test'];
    for (const host of hosts) store.generate(host, 512);
    // A few slow files keep transfers overlapping, so the limits are really tested.
    for (let i = 0; i < 5000; i += 7)
      store.fault(`mem://${hosts[i % 3]}/f/${i}`, { firstByteDelayMs: 2 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 256 })],
      limits: { total: 16, perHost: 4 },
    });
    function* requests(): Generator<DownloadRequest<{ n: number }>> {
      for (let i = 0; i < 5000; i++)
        yield { url: `mem://${hosts[i % 3]}/f/${i}`, size: 512, context: { n: i } };
    }
    const seen = new Set<number>();
    let failures = 0;
    for await (const outcome of factory.downloadAll(requests())) {
      expect(seen.has(outcome.context.n)).toBe(false);
      seen.add(outcome.context.n);
      if (!outcome.ok) failures++;
      else
        expect(outcome.result.url).toBe(
          `mem://${hosts[outcome.context.n % 3]}/f/${outcome.context.n}`,
        );
    }
    expect(failures).toBe(0);
    expect(seen.size).toBe(5000);
    for (const host of hosts) {
      expect(store.peak(host)).toBeLessThanOrEqual(4);
      expect(store.peak(host)).toBeGreaterThanOrEqual(2);
    }
    expect(store.peak()).toBeLessThanOrEqual(12);
    expect(store.active()).toBe(0);
  });

  it('a download waiting in backoff holds no slot', async () => {
    const store = createMemoryStore();
    store.put('mem://h.test/slow', new Uint8Array(10));
    store.put('mem://h.test/fast', new Uint8Array(10));
    store.fault('mem://h.test/slow', { failOpens: 1, retryAfterMs: 400 });
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      limits: { total: 1, perHost: 1 },
      retry: { baseDelayMs: 1, random: () => 0 },
    });
    const order: string[] = [];
    for await (const outcome of factory.downloadAll([
      { url: 'mem://h.test/slow' },
      { url: 'mem://h.test/fast' },
    ])) {
      expect(outcome.ok).toBe(true);
      order.push(new URL(outcome.request.url).pathname);
    }
    expect(order).toEqual(['/fast', '/slow']);
  });

  it('an adapter session that lowers its transfer count is respected by the scheduler', async () => {
    const store = createMemoryStore();
    store.generate('x.test', 64);
    const base = memoryAdapter(store);
    const adapter = {
      ...base,
      async createSession(context: Parameters<typeof base.createSession>[0]) {
        const session = await base.createSession(context);
        return Object.assign(session, { maxTransfers: () => 2 });
      },
    };
    for (let i = 0; i < 60; i++) store.fault(`mem://x.test/${i}`, { firstByteDelayMs: 3 });
    await using factory = createDownloaderFactory({
      adapters: [adapter],
      limits: { total: 16, perHost: 8 },
    });
    await factory.session('mem');
    let done = 0;
    for await (const outcome of factory.downloadAll(
      Array.from({ length: 60 }, (_, i) => ({ url: `mem://x.test/${i}` })),
    )) {
      expect(outcome.ok).toBe(true);
      done++;
    }
    expect(done).toBe(60);
    expect(store.peak('x.test')).toBe(2);
  });
});
