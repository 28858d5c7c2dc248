import { randomBytes } from 'node:crypto';
import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { Redis } from 'ioredis';
import { createDownloaderFactory, DownloadError } from '@dl/core';
import { http } from '@dl/http';
import { heapUsedAfterGc, startRedis, waitFor } from '@dl/testkit';
import { createFleetProducer } from '../src/index.js';
import { content, sha256, spawnWorker, startFileServer } from './fleet-fixture.js';

/** Every key's content, as text: strings, hashes, lists, sets, sorted sets, streams. */
async function everything(redis: Redis): Promise<string> {
  const parts: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      const type = await redis.type(key);
      parts.push(key);
      if (type === 'string') parts.push((await redis.get(key)) ?? '');
      else if (type === 'hash') parts.push(JSON.stringify(await redis.hgetall(key)));
      else if (type === 'list') parts.push(JSON.stringify(await redis.lrange(key, 0, -1)));
      else if (type === 'set') parts.push(JSON.stringify(await redis.smembers(key)));
      else if (type === 'zset') parts.push(JSON.stringify(await redis.zrange(key, 0, -1)));
      else if (type === 'stream') parts.push(JSON.stringify(await redis.xrange(key, '-', '+')));
    }
  } while (cursor !== '0');
  return parts.join('\n');
}

async function appendOnlyText(dir: string): Promise<string> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  const files = entries.filter((e) => e.isFile() && e.name.includes('.aof'));
  // A rewrite may remove a file between the listing and the read: it held nothing new.
  const texts = files.map((e) => readFile(join(e.parentPath, e.name), 'latin1').catch(() => ''));
  return (await Promise.all(texts)).join('\n');
}

describe('what a fleet keeps in Redis', () => {
  const cleanups: (() => Promise<unknown>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup().catch(() => {});
  });

  it('holds no secret value: credentials travel by reference', async () => {
    const token = `tok-${randomBytes(12).toString('hex')}`;
    process.env.DL_TEST_TOKEN = token;
    cleanups.push(async () => delete process.env.DL_TEST_TOKEN);
    const redis = await startRedis();
    cleanups.push(() => redis.stop());
    const server = await startFileServer({ pauseMs: 50, token });
    cleanups.push(() => server.close());
    const out = await mkdtemp(join(tmpdir(), 'dl-fleet-secret-'));
    cleanups.push(() => rm(out, { recursive: true, force: true }));
    const worker = await spawnWorker({ DL_REDIS: redis.url, DL_QUEUE: 'secret' });
    cleanups.push(() => worker.stop());
    const client = new Redis(redis.url);
    cleanups.push(() => client.quit());

    const config = createDownloaderFactory({
      adapters: [
        http({
          auth: { type: 'bearer', token: { env: 'DL_TEST_TOKEN' }, origins: [server.origin] },
        }),
      ],
    }).toJSON();
    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'secret',
      chunkSize: 10,
    });
    const requests = Array.from({ length: 40 }, (_, i) => ({
      url: server.url(i),
      destination: join(out, `${i}.bin`),
      digests: { sha256: sha256(content(i)) },
      context: i,
    }));
    let ok = 0;
    let dump = '';
    for await (const outcome of producer.downloadAll(requests, { config })) {
      if (outcome.ok) ok++;
      // Mid-run, while the configuration and the chunks are in Redis.
      if (ok === 5) dump = await everything(client);
    }
    expect(ok).toBe(40);
    expect(dump).toContain('DL_TEST_TOKEN'); // the reference is there: we looked at the configuration
    expect(dump).not.toContain(token);
    // Every write of the run, as the append-only file logged it (fsynced once a second).
    await new Promise((resolve) => setTimeout(resolve, 1_200));
    const logged = await appendOnlyText(redis.dir);
    expect(logged).toContain('DL_TEST_TOKEN');
    expect(logged).not.toContain(token);
  });

  it('keeps a queued file small in Redis and the producer heap flat', async () => {
    const FILES = 100_000;
    const redis = await startRedis({ appendOnly: false });
    cleanups.push(() => redis.stop());
    const client = new Redis(redis.url);
    cleanups.push(() => client.quit());
    const config = createDownloaderFactory({ adapters: [http()] }).toJSON();
    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'mem',
      window: FILES / 100,
    });
    function* requests() {
      for (let i = 0; i < FILES; i++) {
        yield {
          url: `https://repo.example/pool/main/p/pkg${i}/pkg${i}_1.${i % 13}-1_amd64.deb`,
          destination: `/srv/mirror/pool/main/p/pkg${i}/pkg${i}_1.${i % 13}-1_amd64.deb`,
          size: 1000 + ((i * 7919) % 1_000_000),
          digests: { sha256: sha256(Buffer.from(String(i))) },
          context: { artifact: i },
        };
      }
    }
    const used = async () => Number(/used_memory:(\d+)/.exec(await client.info('memory'))![1]);
    // The queue's own keys first, so they are not counted per file.
    const ready = createFleetProducer({ connection: redis.url, queue: 'mem' });
    for await (const _ of ready.downloadAll([], { config })) void _;
    await ready.close();
    const heapBefore = heapUsedAfterGc();
    const memoryBefore = await used();
    const abort = new AbortController();
    const run = (async () => {
      for await (const _ of producer.downloadAll(requests(), { config, signal: abort.signal }))
        void _;
    })();
    await waitFor(async () => (await client.llen('bull:mem:wait')) === FILES / 100, {
      timeoutMs: 50_000,
    });
    const perFile = ((await used()) - memoryBefore) / FILES;
    const heapGrowth = heapUsedAfterGc() - heapBefore;
    console.log(
      `memory: ${perFile.toFixed(1)} bytes of Redis per queued file; producer heap +${(heapGrowth / 1024 / 1024).toFixed(1)} MiB with ${FILES} files queued`,
    );
    expect(perFile).toBeLessThan(400);
    expect(heapGrowth).toBeLessThan(16 * 1024 * 1024);
    abort.abort();
    await expect(run).rejects.toSatisfy((e) => DownloadError.isInstance(e) && e.code === 'aborted');
    // Cancelled: the chunks no worker started are gone, and the run's configuration with them.
    expect(await client.llen('bull:mem:wait')).toBe(0);
    expect(await client.keys('bull:mem:dlrun:*')).toEqual([]);
  });
});
