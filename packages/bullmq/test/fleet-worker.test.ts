import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory, localBudget, type BudgetProvider } from '@dl/core';
import { http } from '@dl/http';
import { startRedis } from '@dl/testkit';
import { createFleetProducer, createFleetWorker } from '../src/index.js';
import { content, sha256, startFileServer, tempFiles } from './fleet-fixture.js';

describe('a fleet worker in process', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('runs its budget, hands its chunks back on destroy, and another worker finishes them', async () => {
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const server = await startFileServer({ pauseMs: 100 });
    cleanups.push(() => server.close());
    const out = await mkdtemp(join(tmpdir(), 'dl-fleet-destroy-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    let built = 0;
    let acquired = 0;
    const budget: BudgetProvider = (init) => {
      built++;
      const inner = localBudget(init);
      return {
        total: inner.total,
        get active() {
          return inner.active;
        },
        acquire(origin, signal) {
          acquired++;
          return inner.acquire(origin, signal);
        },
        onRelease: (listener) => inner.onRelease(listener),
      };
    };
    const options = {
      connection: redis.url,
      queue: 'inproc',
      builders: { adapters: { http } },
      budget,
      chunks: 2,
    };
    const first = createFleetWorker(options);
    let second: ReturnType<typeof createFleetWorker> | undefined;
    cleanups.push(async () => {
      await first.destroy();
      await second?.close();
    });
    const config = createDownloaderFactory({
      adapters: [http()],
      limits: { total: 4, perHost: 4 },
    }).toJSON();
    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'inproc',
      chunkSize: 10,
    });
    const requests = Array.from({ length: 80 }, (_, i) => ({
      url: server.url(i),
      destination: join(out, `${i}.bin`),
      digests: { sha256: sha256(content(i)) },
      context: `file-${i}`,
    }));
    const seen = new Set<string>();
    for await (const outcome of producer.downloadAll(requests, { config })) {
      expect(outcome.ok, JSON.stringify(outcome)).toBe(true);
      expect(seen.has(outcome.context)).toBe(false);
      seen.add(outcome.context);
      if (seen.size === 5) {
        expect(first.running).toBeGreaterThan(0);
        await first.destroy();
        expect(first.running).toBe(0);
        second = createFleetWorker(options);
      }
    }
    expect(seen.size).toBe(80);
    expect(built).toBeGreaterThanOrEqual(2);
    expect(acquired).toBeGreaterThanOrEqual(80);
    expect(await tempFiles(out)).toEqual([]);
  });
});
