import { createMemoryStore, memoryAdapter } from '@dl/testkit';
import { describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  parseFactoryConfig,
  rebuildDownloaderFactory,
} from '../../src/index.js';
import { fetchRaw, startStreamerServer } from './support.js';

describe('streamer admission', () => {
  it('at most upstreamLimit upstream transfers; a bounded queue; 503 + Retry-After beyond it or after the queue time; shared requests need no slot', async () => {
    const store = createMemoryStore();
    store.generate('up.test', 4096);
    for (let i = 0; i < 12; i++) store.fault(`mem://up.test/f/${i}`, { firstByteDelayMs: 300 });
    await using factory = createDownloaderFactory({ adapters: [memoryAdapter(store)] });
    const streamer = createStreamer({
      downloader: factory,
      upstreamLimit: 2,
      queueLimit: 3,
      queueTimeoutMs: 500,
    });
    const server = await startStreamerServer(streamer, (path) => ({ url: `mem://up.test${path}` }));
    try {
      const started = Date.now();
      const replies = await Promise.all(
        // f/0 twice: the second joins the first's download.
        ['/f/0', '/f/0', ...Array.from({ length: 9 }, (_, i) => `/f/${i + 1}`)].map((path) =>
          fetchRaw(server.url(path)).then((reply) => ({ ...reply, ms: Date.now() - started })),
        ),
      );
      const statuses = replies.map((r) => r.status).sort();
      // 2 running + 3 queued; of the queued, one gets a slot at 300 ms, the rest time out at 500 ms.
      expect(statuses.filter((s) => s === 200).length).toBeGreaterThanOrEqual(3);
      expect(statuses.filter((s) => s === 503).length).toBeGreaterThanOrEqual(6);
      expect(
        replies.filter((r) => r.status === 503).every((r) => r.headers['retry-after'] === '1'),
      ).toBe(true);
      expect(replies.every((r) => r.ms < 1500)).toBe(true);
      expect(store.peak('up.test')).toBeLessThanOrEqual(2);
      expect(replies[1]!.status).toBe(200);
    } finally {
      await server.stop();
    }
  });

  it('limits.rate and limits.ratePerHost travel in the plain-data configuration', () => {
    const store = createMemoryStore();
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store)],
      limits: { total: 4, perHost: 2, rate: 2_097_152, ratePerHost: 524_288 },
    });
    const data = JSON.parse(JSON.stringify(factory));
    expect(data.limits).toEqual({ total: 4, perHost: 2, rate: 2_097_152, ratePerHost: 524_288 });
    const rebuilt = rebuildDownloaderFactory(data, {
      adapters: { memory: () => memoryAdapter(store) },
    });
    expect(JSON.parse(JSON.stringify(rebuilt)).limits).toEqual(data.limits);
    expect(() => parseFactoryConfig({ ...data, limits: { ...data.limits, rate: 0 } })).toThrow(
      /config\.limits\.rate must be a number of bytes per second ≥ 1, got 0/,
    );
    expect(() =>
      createDownloaderFactory({ adapters: [memoryAdapter(store)], limits: { rate: -1 } }),
    ).toThrow(/limits\.rate/);
  });
});
