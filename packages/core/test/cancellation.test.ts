import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  activeResources,
  countOpenFds,
  createMemoryStore,
  memoryAdapter,
  resourceGrowth,
  waitFor,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDownloaderFactory, DownloadError, type DownloadRequest } from '../src/index.js';

let root: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'dl-cancel-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries.filter((e) => e.isFile()).map((e) => join(e.parentPath, e.name));
}

function setup(round: number) {
  const store = createMemoryStore();
  store.generate('slow.test', 64 * 1024);
  const dir = join(root, `round-${round}`);
  const requests = function* (): Generator<DownloadRequest<number>> {
    for (let i = 0; i < 500; i++) {
      const url = `mem://slow.test/${round}/${i}`;
      store.fault(url, { chunkDelayMs: 1 + (i % 5) });
      yield { url, destination: join(dir, `${i}.bin`), size: 64 * 1024, context: i };
    }
  };
  return { store, dir, requests };
}

describe('cancellation is total', () => {
  const baseline = activeResources();
  const fdsBefore = countOpenFds();

  it('aborting by signal at random moments during 500 concurrent downloads leaks nothing', async () => {
    for (let round = 0; round < 6; round++) {
      const { store, dir, requests } = setup(round);
      const factory = createDownloaderFactory({
        adapters: [memoryAdapter(store, { chunkSize: 4096 })],
        limits: { total: 500, perHost: 500 },
      });
      const controller = new AbortController();
      setTimeout(() => controller.abort(), 5 + Math.random() * 60);
      let error: unknown;
      let completed = 0;
      try {
        for await (const outcome of factory.downloadAll(requests(), {
          signal: controller.signal,
        })) {
          if (outcome.ok) completed++;
        }
      } catch (e) {
        error = e;
      }
      expect(DownloadError.isInstance(error) && error.code).toBe('aborted');
      expect(store.active()).toBe(0);
      const left = (await filesUnder(dir)).filter((f) => !/\/\d+\.bin$/.test(f));
      expect(left).toEqual([]);
      expect((await filesUnder(dir)).length).toBe(completed);
      await factory.close();
    }
    await waitFor(
      () => resourceGrowth(baseline).length === 0 && countOpenFds() === fdsBefore,
      3000,
      {
        message: () =>
          `leaked: ${resourceGrowth(baseline).join(', ')}; fds ${countOpenFds()} vs ${fdsBefore}`,
      },
    );
  });

  it('leaving the loop with break at random moments cleans up before the loop ends', async () => {
    for (let round = 10; round < 14; round++) {
      const { store, dir, requests } = setup(round);
      await using factory = createDownloaderFactory({
        adapters: [memoryAdapter(store, { chunkSize: 4096 })],
        limits: { total: 500, perHost: 500 },
      });
      const stopAt = Date.now() + 5 + Math.random() * 60;
      for await (const _outcome of factory.downloadAll(requests())) {
        if (Date.now() >= stopAt) break;
      }
      // Nothing may be in flight or half-written once `break` has completed.
      expect(store.active()).toBe(0);
      expect((await filesUnder(dir)).filter((f) => !/\/\d+\.bin$/.test(f))).toEqual([]);
    }
    await waitFor(
      () => resourceGrowth(baseline).length === 0 && countOpenFds() === fdsBefore,
      3000,
      {
        message: () =>
          `leaked: ${resourceGrowth(baseline).join(', ')}; fds ${countOpenFds()} vs ${fdsBefore}`,
      },
    );
  });

  it('an exception in the loop body aborts the batch too', async () => {
    const { store, dir, requests } = setup(20);
    await using factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
      limits: { total: 50 },
    });
    await expect(async () => {
      for await (const _outcome of factory.downloadAll(requests()))
        throw new Error('consumer failed');
    }).rejects.toThrow('consumer failed');
    expect(store.active()).toBe(0);
    expect((await filesUnder(dir)).filter((f) => !/\/\d+\.bin$/.test(f))).toEqual([]);
  });

  it('destroy() aborts single downloads in flight and rejects later calls', async () => {
    const { store, dir, requests } = setup(30);
    const factory = createDownloaderFactory({
      adapters: [memoryAdapter(store, { chunkSize: 4096 })],
    });
    const [first] = requests();
    const pending = factory.download(first!);
    await waitFor(() => store.active() > 0);
    await factory.destroy();
    const error = (await pending.catch((e: unknown) => e)) as DownloadError;
    expect(['aborted', 'closed']).toContain(error.code);
    expect(await filesUnder(dir)).toEqual([]);
    const later = (await factory.download(first!).catch((e: unknown) => e)) as DownloadError;
    expect(later.code).toBe('closed');
  });
});
