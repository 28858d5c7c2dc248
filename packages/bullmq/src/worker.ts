import { Worker, WaitingError, type Job } from 'bullmq';
import { Redis, type RedisOptions } from 'ioredis';
import {
  DownloadError,
  ErrorCodes,
  rebuildDownloaderFactory,
  type BudgetProvider,
  type DownloadRequest,
  type DownloaderFactory,
  type FactoryBuilders,
} from '@dl/core';
import { decodeChunk, type ChunkJobData, type ChunkRequest } from './chunk.js';
import { connectionOptions, type FleetConnection } from './connection.js';
import { DEFAULT_PREFIX, heartbeatKey, runKey, selfOwner } from './fleet-keys.js';
import { toWireOutcome, type ChunkReport, type WireOutcome } from './outcome.js';
import { verifiedFile } from './skip-check.js';
import { ownerKey, removeDeadWorkerTemps, type DeadOwners } from './stale-temps.js';

/** What {@link createFleetWorker} is built from. */
export interface FleetWorkerOptions {
  /** The fleet's Redis. */
  readonly connection: FleetConnection;
  /** The BullMQ queue to take chunks from. @default 'dl' */
  readonly queue?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  /**
   * The adapters (and interceptors, logger) this process offers, passed in
   * by its entry point: a run's configuration names adapters, never code.
   */
  readonly builders: FactoryBuilders;
  /** The admission budget of every factory this worker rebuilds (e.g. the fleet-wide per-host budget on Redis). @default each factory's in-process limiter */
  readonly budget?: BudgetProvider;
  /** Chunks run at once. @default 1 */
  readonly chunks?: number;
  /**
   * How long a chunk stays locked to this worker without a renewal (BullMQ's
   * `lockDuration`): after a crash, its chunks are redone elsewhere about
   * this long (plus up to `stalledInterval`) later. The heartbeat key lives
   * half of it. @default 30000
   */
  readonly lockDuration?: number;
  /** How often this worker looks for chunks whose worker died (BullMQ's `stalledInterval`). @default 30000 */
  readonly stalledInterval?: number;
  /** Times a chunk may be redone after its worker died before it fails for good. @default 2 */
  readonly maxStalledCount?: number;
  /** A run's rebuilt factory is closed after this long without a chunk. @default 30000 */
  readonly idleFactoryMs?: number;
  /** Told once per chunk this worker finished (not when it was handed back or threw): for a log line per chunk. */
  readonly onChunk?: (chunk: FleetChunkDone) => void;
}

/** What {@link FleetWorkerOptions.onChunk} is told about a finished chunk. */
export interface FleetChunkDone {
  /** The BullMQ job id of the chunk. */
  readonly id: string;
  /** The run it belongs to. */
  readonly run: string;
  readonly files: number;
  /** Downloaded (or, with `skipped`, already valid) files. */
  readonly ok: number;
  /** Of `ok`, files already valid at their destination. */
  readonly skipped: number;
  readonly failed: number;
  /** Time the chunk took in this worker, ms. */
  readonly ms: number;
  /** How many times the chunk was started (BullMQ's `attemptsStarted`: more than 1 after a worker died or an attempt threw). */
  readonly started: number;
}

/** A fleet worker: takes chunks from the queue until closed. */
export interface FleetWorker extends AsyncDisposable {
  /** This process as the owner of its temp files and heartbeat key: `host-pid`. */
  readonly owner: string;
  /** Chunks running now. */
  readonly running: number;
  /**
   * Graceful: takes no new chunk, lets the chunks in flight finish and
   * report, then closes the factories and every connection. Idempotent.
   */
  close(): Promise<void>;
  /**
   * Abrupt: aborts the chunks in flight and hands them back to the queue
   * (waiting, for another worker), then closes everything. Idempotent.
   */
  destroy(): Promise<void>;
}

interface CachedFactory {
  readonly factory: Promise<DownloaderFactory | undefined>;
  users: number;
  timer: NodeJS.Timeout | undefined;
}

/** Outcomes gathered before a progress report is sent. */
const REPORT_MS = 200;

/**
 * The worker side of a fleet: a BullMQ worker that rebuilds each run's
 * factory from its published configuration (cached per run), checks which
 * files are already valid at their destination, runs the rest of each
 * chunk through the ordinary `downloadAll`, and reports every file's
 * outcome (as progress while it runs, all of them as the job's return value).
 *
 * @example
 * ```ts
 * import { http } from '@dl/http';
 * const worker = createFleetWorker({ connection: process.env.REDIS_URL!, builders: { adapters: { http } } });
 * process.once('SIGTERM', () => void worker.close());
 * ```
 */
export function createFleetWorker(options: FleetWorkerOptions): FleetWorker {
  const queueName = options.queue ?? 'dl';
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const connection = connectionOptions(options.connection);
  const lockDuration = options.lockDuration ?? 30_000;
  const heartbeatTtl = Math.max(1000, Math.floor(lockDuration / 2));
  const idleMs = options.idleFactoryMs ?? 30_000;
  const builders: FactoryBuilders =
    options.budget === undefined
      ? options.builders
      : { ...options.builders, budget: options.budget };
  const logger = options.builders.logger;
  const owner = selfOwner();
  const destroyer = new AbortController();
  const redis = new Redis(connection as RedisOptions);
  redis.on('error', () => {});
  const factories = new Map<string, CachedFactory>();
  let running = 0;
  let closing: Promise<void> | undefined;

  const beat = (): void => {
    redis.set(heartbeatKey(prefix, owner), '1', 'PX', heartbeatTtl).catch(() => {});
  };
  beat();
  const heartbeat = setInterval(beat, Math.max(250, Math.floor(heartbeatTtl / 3)));
  heartbeat.unref();

  // A worker is dead once its heartbeat key expired: one EXISTS per owner found, in one round trip.
  const deadOwners: DeadOwners = async (owners) => {
    const pipeline = redis.pipeline();
    for (const who of owners) pipeline.exists(heartbeatKey(prefix, ownerKey(who)));
    const answers = (await pipeline.exec()) ?? [];
    const dead = new Set<string>();
    answers.forEach(([error, exists], i) => {
      if (error === null && exists === 0) dead.add(ownerKey(owners[i]!));
    });
    return dead;
  };

  async function acquire(runId: string): Promise<DownloaderFactory | undefined> {
    let entry = factories.get(runId);
    if (entry === undefined) {
      const factory = redis
        .get(runKey(prefix, queueName, runId))
        .then((text) =>
          text === null ? undefined : rebuildDownloaderFactory(JSON.parse(text), builders),
        );
      entry = { factory, users: 0, timer: undefined };
      factories.set(runId, entry);
    }
    entry.users++;
    clearTimeout(entry.timer);
    try {
      const factory = await entry.factory;
      if (factory === undefined) release(runId);
      return factory;
    } catch (error) {
      release(runId);
      throw error;
    }
  }

  function release(runId: string): void {
    const entry = factories.get(runId);
    if (entry === undefined || --entry.users > 0) return;
    entry.timer = setTimeout(() => {
      factories.delete(runId);
      void entry.factory.then((factory) => factory?.close()).catch(() => {});
    }, idleMs);
    entry.timer.unref();
    void entry.factory.then(
      (factory) => {
        if (factory === undefined && factories.get(runId) === entry) {
          clearTimeout(entry.timer);
          factories.delete(runId);
        }
      },
      () => factories.delete(runId),
    );
  }

  async function processChunk(
    job: Job<ChunkJobData, ChunkReport>,
    token?: string,
    signal?: AbortSignal,
  ): Promise<ChunkReport> {
    const { r: runId, z } = job.data;
    const factory = await acquire(runId);
    // The run ended (its producer finished or gave up): nothing to do.
    if (factory === undefined) return { o: [], gone: true };
    running++;
    const startedAt = Date.now();
    const abort = AbortSignal.any(
      signal === undefined ? [destroyer.signal] : [destroyer.signal, signal],
    );
    try {
      const requests = decodeChunk(z);
      if (job.attemptsStarted > 1 || job.stalledCounter > 0) {
        const destinations = requests.flatMap((request) =>
          request.destination === undefined ? [] : [request.destination],
        );
        const removed = await removeDeadWorkerTemps(destinations, deadOwners);
        if (removed.length > 0)
          logger?.info('removed temp files of a dead worker', {
            chunk: job.id,
            removed: removed.length,
          });
      }
      const all: WireOutcome[] = [];
      let pending: WireOutcome[] = [];
      let timer: NodeJS.Timeout | undefined;
      const flush = (): void => {
        timer = undefined;
        if (pending.length === 0 || abort.aborted) return;
        const batch = pending;
        pending = [];
        job.updateProgress({ o: batch }).catch(() => {});
      };
      const report = (outcome: WireOutcome): void => {
        all.push(outcome);
        pending.push(outcome);
        timer ??= setTimeout(flush, REPORT_MS);
      };
      try {
        for await (const outcome of factory.downloadAll(toDownload(requests, report, abort), {
          signal: abort,
        })) {
          report(toWireOutcome(outcome));
        }
      } finally {
        clearTimeout(timer);
      }
      if (options.onChunk !== undefined) {
        let skipped = 0;
        let failed = 0;
        for (const outcome of all) {
          if ('e' in outcome) failed++;
          else if (outcome.r.skipped) skipped++;
        }
        try {
          options.onChunk({
            id: String(job.id),
            run: runId,
            files: all.length,
            ok: all.length - failed,
            skipped,
            failed,
            ms: Date.now() - startedAt,
            started: Math.max(job.attemptsStarted, 1),
          });
        } catch {
          // A listener's failure is not the chunk's.
        }
      }
      return { o: all };
    } catch (error) {
      if (destroyer.signal.aborted) {
        // Handed back: another worker takes it; what is valid at its destination by then is skipped.
        await job.moveToWait(token);
        throw new WaitingError();
      }
      throw error;
    } finally {
      running--;
      release(runId);
    }
  }

  const worker = new Worker<ChunkJobData, ChunkReport>(queueName, processChunk, {
    connection,
    prefix,
    concurrency: options.chunks ?? 1,
    lockDuration,
    stalledInterval: options.stalledInterval ?? 30_000,
    maxStalledCount: options.maxStalledCount ?? 2,
  });
  worker.on('error', (error) => logger?.warn('fleet worker: Redis or BullMQ error', { error }));
  worker.on('failed', (job, error) =>
    logger?.warn('fleet worker: a chunk attempt failed', { chunk: job?.id, error }),
  );

  async function shutdown(force: boolean): Promise<void> {
    if (force)
      destroyer.abort(
        new DownloadError('The fleet worker was destroyed', { code: ErrorCodes.Closed }),
      );
    await worker.close();
    const all = [...factories.values()];
    factories.clear();
    await Promise.all(
      all.map(async (entry) => {
        clearTimeout(entry.timer);
        const factory = await entry.factory.catch(() => undefined);
        await (force ? factory?.destroy() : factory?.close());
      }),
    );
    clearInterval(heartbeat);
    await redis.del(heartbeatKey(prefix, owner)).catch(() => 0);
    await redis.quit().catch(() => redis.disconnect());
  }

  return {
    owner,
    get running() {
      return running;
    },
    close() {
      closing ??= shutdown(false);
      return closing;
    },
    destroy() {
      if (closing === undefined) closing = shutdown(true);
      else destroyer.abort();
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

/** The requests of a chunk that need a download; the ones already valid are reported skipped. */
async function* toDownload(
  requests: readonly ChunkRequest[],
  report: (outcome: WireOutcome) => void,
  signal: AbortSignal,
): AsyncGenerator<DownloadRequest<number>> {
  for (let i = 0; i < requests.length; i++) {
    if (signal.aborted) return;
    const request = requests[i]!;
    if (request.destination !== undefined) {
      const valid = await verifiedFile(request.destination, request, signal);
      if (valid !== undefined) {
        report({
          i,
          r: {
            url: request.url,
            size: valid.size,
            digests: valid.digests,
            path: request.destination,
            attempts: 0,
            skipped: true,
          },
        });
        continue;
      }
    }
    yield {
      url: request.url,
      context: i,
      ...(request.destination === undefined ? {} : { destination: request.destination }),
      ...(request.size === undefined ? {} : { size: request.size }),
      ...(request.digests === undefined ? {} : { digests: request.digests }),
    };
  }
}
