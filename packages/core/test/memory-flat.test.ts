import { createMemoryStore, heapUsedAfterGc, memoryAdapter } from '@dl/testkit';
import { expect, it } from 'vitest';
import { createDownloaderFactory, type DownloadRequest } from '../src/index.js';

it('200,000 requests through downloadAll keep the heap flat (pulled lazily, nothing kept per request)', async () => {
  const store = createMemoryStore();
  store.generate('gen.test', 32);
  await using factory = createDownloaderFactory({
    adapters: [memoryAdapter(store)],
    limits: { total: 16, perHost: 16 },
  });
  let pulled = 0;
  async function* requests(): AsyncGenerator<DownloadRequest<number>> {
    for (let i = 0; i < 200_000; i++) {
      pulled++;
      yield { url: `mem://gen.test/item/${i}`, size: 32, context: i };
    }
  }
  let consumed = 0;
  let heapAt10k = 0;
  let maxAhead = 0;
  for await (const outcome of factory.downloadAll(requests())) {
    if (!outcome.ok) throw outcome.error;
    consumed++;
    maxAhead = Math.max(maxAhead, pulled - consumed);
    if (consumed === 10_000) heapAt10k = heapUsedAfterGc();
  }
  const heapAt200k = heapUsedAfterGc();
  expect(consumed).toBe(200_000);
  // Look-ahead (64) + running (16) + unconsumed outcomes (16), nothing more.
  expect(maxAhead).toBeLessThanOrEqual(100);
  expect(heapAt200k - heapAt10k).toBeLessThan(3 * 1024 * 1024);
}, 120_000);
