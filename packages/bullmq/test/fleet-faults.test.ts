import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { createDownloaderFactory } from '@dl/core';
import { http } from '@dl/http';
import { startRedis, type RunningRedis } from '@dl/testkit';
import { createFleetProducer } from '../src/index.js';
import {
  content,
  sha256,
  spawnWorker,
  startFileServer,
  tempFiles,
  type FileServer,
  type WorkerProcess,
} from './fleet-fixture.js';

type Ctx = { i: number };

function config() {
  return createDownloaderFactory({ adapters: [http()], limits: { total: 6, perHost: 6 } }).toJSON();
}

function* requests(server: FileServer, out: string, count: number, big = false) {
  for (let i = 0; i < count; i++) {
    const body = content(i, big);
    yield {
      url: server.url(i),
      destination: join(out, String(i % 7), `${i}.bin`),
      size: body.length,
      digests: { sha256: sha256(body) },
      context: { i } satisfies Ctx,
    };
  }
}

async function expectAllValid(
  out: string,
  seen: Set<number>,
  count: number,
  big = false,
): Promise<void> {
  expect(seen.size).toBe(count);
  for (let i = 0; i < count; i++) {
    const body = await readFile(join(out, String(i % 7), `${i}.bin`));
    expect(sha256(body), `file ${i}`).toBe(sha256(content(i, big)));
  }
}

describe('a fleet under faults', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('completes when a worker is killed with SIGKILL mid-chunk, each outcome once, no temp file left', async () => {
    const COUNT = 150;
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const server = await startFileServer({ pauseMs: 300, big: true });
    cleanups.push(() => server.close());
    const out = await mkdtemp(join(tmpdir(), 'dl-fleet-kill-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const env = { DL_REDIS: redis.url, DL_QUEUE: 'kill', DL_LOCK_MS: '3000' };
    const workers: WorkerProcess[] = await Promise.all([
      spawnWorker(env),
      spawnWorker(env),
      spawnWorker(env),
    ]);
    cleanups.push(() => Promise.all(workers.map((w) => w.stop())));

    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'kill',
      chunkSize: 20,
      window: 6,
    });
    const seen = new Set<number>();
    let failures = 0;
    let tempsAtKill = -1;
    for await (const outcome of producer.downloadAll(requests(server, out, COUNT, true), {
      config: config(),
    })) {
      expect(seen.has(outcome.context.i), `outcome of ${outcome.context.i} twice`).toBe(false);
      seen.add(outcome.context.i);
      if (!outcome.ok) failures++;
      if (seen.size === 40) {
        workers[0]!.child.kill('SIGKILL');
        await workers[0]!.exited;
        tempsAtKill = (await tempFiles(out)).length;
      }
    }
    expect(failures).toBe(0);
    await expectAllValid(out, seen, COUNT, true);
    // The dead worker was mid-transfer: it left temp files, which the chunk's redo removed.
    expect(tempsAtKill).toBeGreaterThan(0);
    expect(await tempFiles(out)).toEqual([]);
  });

  it('completes when Redis is down for 5 s and comes back on the same data', async () => {
    const COUNT = 300;
    const dir = await mkdtemp(join(tmpdir(), 'dl-fleet-redis-'));
    cleanups.push(() => rm(dir, { recursive: true, force: true }));
    let redis: RunningRedis = await startRedis({ dir });
    cleanups.push(() => redis.stop());
    const server = await startFileServer({ pauseMs: 20 });
    cleanups.push(() => server.close());
    const out = await mkdtemp(join(tmpdir(), 'dl-fleet-restart-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const env = { DL_REDIS: redis.url, DL_QUEUE: 'restart' };
    const workers = await Promise.all([spawnWorker(env), spawnWorker(env)]);
    cleanups.push(() => Promise.all(workers.map((w) => w.stop())));

    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'restart',
      chunkSize: 20,
      window: 6,
    });
    const seen = new Set<number>();
    let failures = 0;
    let restarted: Promise<void> | undefined;
    for await (const outcome of producer.downloadAll(requests(server, out, COUNT), {
      config: config(),
    })) {
      expect(seen.has(outcome.context.i), `outcome of ${outcome.context.i} twice`).toBe(false);
      seen.add(outcome.context.i);
      if (!outcome.ok) failures++;
      if (seen.size === 60) {
        const { port } = redis;
        await redis.stop();
        restarted = new Promise<void>((resolve) => setTimeout(resolve, 5000)).then(async () => {
          redis = await startRedis({ dir, port });
        });
      }
    }
    await restarted;
    expect(failures).toBe(0);
    await expectAllValid(out, seen, COUNT);
    expect(await tempFiles(out)).toEqual([]);
  });
});
