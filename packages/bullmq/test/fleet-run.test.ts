import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDownloaderFactory } from '@dl/core';
import { http } from '@dl/http';
import { ftp } from '@dl/ftp';
import { startRedis, startVsftpd, type RunningRedis, type RunningVsftpd } from '@dl/testkit';
import { createFleetProducer, type FleetOutcome } from '../src/index.js';
import {
  content,
  sha256,
  spawnWorker,
  startFileServer,
  tempFiles,
  type FileServer,
  type WorkerProcess,
} from './fleet-fixture.js';

const HTTP_FILES = 1000;
const FTP_FILES = 100;
const WORKERS = 2;
const PER_HOST = 4;
/** Set DL_FLEET_BUDGET=1 once the shared per-host budget is in the workers: the per-host limit then holds fleet-wide. */
const SHARED_BUDGET = process.env.DL_FLEET_BUDGET === '1';

describe('a fleet of worker processes', () => {
  let redis: RunningRedis;
  let server: FileServer;
  let vsftpd: RunningVsftpd;
  let out: string;
  let workers: WorkerProcess[] = [];

  beforeAll(async () => {
    [redis, server, vsftpd] = await Promise.all([
      startRedis(),
      startFileServer({ pauseMs: 2 }),
      startVsftpd(),
    ]);
    out = await mkdtemp(join(tmpdir(), 'dl-fleet-'));
    for (let i = 0; i < FTP_FILES; i++)
      await writeFile(join(vsftpd.root, `p${i}.bin`), content(100_000 + i));
    workers = await Promise.all(
      Array.from({ length: WORKERS }, () =>
        spawnWorker({ DL_REDIS: redis.url, DL_QUEUE: 'run', DL_BUDGET: SHARED_BUDGET ? '1' : '' }),
      ),
    );
  });
  afterAll(async () => {
    await Promise.all(workers.map((w) => w.stop()));
    await Promise.all([redis?.stop(), server?.close(), vsftpd?.stop()]);
    if (out) await rm(out, { recursive: true, force: true });
  });

  it('downloads every file once, valid, with its context', async () => {
    const factory = createDownloaderFactory({
      adapters: [http(), ftp()],
      limits: { total: 8, perHost: PER_HOST },
    });
    const config = factory.toJSON();
    await factory.close();
    type Ctx = { kind: 'http' | 'ftp'; i: number; tags: string[] };
    function* requests() {
      for (let i = 0; i < HTTP_FILES; i++) {
        const body = content(i);
        yield {
          url: server.url(i),
          destination: join(out, 'http', String(i % 10), `${i}.bin`),
          size: body.length,
          digests: { sha256: sha256(body) },
          context: { kind: 'http', i, tags: ['a', String(i)] } satisfies Ctx,
        };
      }
      for (let i = 0; i < FTP_FILES; i++) {
        const body = content(100_000 + i);
        yield {
          url: vsftpd.url(`p${i}.bin`),
          destination: join(out, 'ftp', `${i}.bin`),
          size: body.length,
          digests: { sha256: sha256(body) },
          context: { kind: 'ftp', i, tags: [] } satisfies Ctx,
        };
      }
    }
    await using producer = createFleetProducer({
      connection: redis.url,
      queue: 'run',
      chunkSize: 50,
      window: 8,
    });
    const seen = new Map<string, FleetOutcome<Ctx>>();
    for await (const outcome of producer.downloadAll(requests(), { config })) {
      const key = `${outcome.context.kind}:${outcome.context.i}`;
      expect(seen.has(key), `outcome of ${key} twice`).toBe(false);
      seen.set(key, outcome);
    }
    expect(seen.size).toBe(HTTP_FILES + FTP_FILES);
    const failed = [...seen.values()].filter((o) => !o.ok);
    expect(failed.slice(0, 3)).toEqual([]);
    for (const outcome of seen.values()) {
      const { kind, i, tags } = outcome.context;
      expect(tags).toEqual(kind === 'http' ? ['a', String(i)] : []);
      const body = await readFile(outcome.request.destination!);
      expect(sha256(body)).toBe(sha256(content(kind === 'http' ? i : 100_000 + i)));
    }
    expect(await tempFiles(out)).toEqual([]);
    // Each worker's factory keeps its own per-host limit until the shared budget is passed in.
    expect(server.maxActive).toBeLessThanOrEqual(SHARED_BUDGET ? PER_HOST : PER_HOST * WORKERS);
    console.log(
      `fleet: ${seen.size} files, server saw at most ${server.maxActive} transfers at once`,
    );
  });
});
