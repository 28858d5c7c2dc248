import { randomBytes } from 'node:crypto';
import { Queue, QueueEvents, type JobsOptions } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  DownloadError,
  ErrorCodes,
  parseFactoryConfig,
  type DownloadRequest,
  type FactoryConfig,
} from '@dl/core';
import {
  decodeChunk,
  encodeChunk,
  toChunkRequest,
  type ChunkJobData,
  type ChunkRequest,
} from './chunk.js';
import { connectionOptions, type FleetConnection } from './connection.js';
import { DEFAULT_PREFIX, runKey } from './fleet-keys.js';
import {
  chunkFailedOutcome,
  fromWireOutcome,
  type ChunkReport,
  type FleetOutcome,
  type WireOutcome,
} from './outcome.js';

/** What {@link createFleetProducer} is built from. */
export interface FleetProducerOptions {
  /** The fleet's Redis. */
  readonly connection: FleetConnection;
  /** The BullMQ queue the workers listen on. @default 'dl' */
  readonly queue?: string;
  /** BullMQ's key prefix. @default 'bull' */
  readonly prefix?: string;
  /** Requests per chunk job. @default 100 */
  readonly chunkSize?: number;
  /**
   * Chunks of one run queued or in flight at once (the producer pulls no
   * more requests until one finished and its outcomes were consumed): the
   * bound on the producer's memory and on what one run puts in Redis.
   * @default 64
   */
  readonly window?: number;
  /** Attempts per chunk when a worker's processing throws (not per file: files are retried by the worker's factory). @default 3 */
  readonly attempts?: number;
}

/** Options of one {@link FleetProducer.downloadAll} run. */
export interface FleetRunOptions {
  /** The factory's plain-data configuration (`factory.toJSON()`), published once for the run. Secrets only by reference. */
  readonly config: FactoryConfig;
  /** Cancels the run: chunks not yet started are removed from the queue and the loop throws an `aborted` `DownloadError`. */
  readonly signal?: AbortSignal;
}

/** Enqueues download runs on a fleet of workers and yields their outcomes. */
export interface FleetProducer extends AsyncDisposable {
  /**
   * Runs every request of any `Iterable` or `AsyncIterable` on the fleet,
   * pulled lazily in chunks, and yields each request's outcome exactly once
   * (in completion order), with its context, even when a chunk runs twice.
   * Contexts must be JSON. Leaving the loop early removes the run's chunks
   * that no worker started.
   */
  downloadAll<C>(
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    options: FleetRunOptions,
  ): AsyncIterable<FleetOutcome<C>>;
  /** Closes the producer's Redis connections. Runs in progress end. Idempotent. */
  close(): Promise<void>;
}

/** Chunks given to one `addBulk`. */
const BULK = 16;
/** How often chunks in flight are checked directly, in case an event was missed. */
const SWEEP_MS = 2000;
/** A run's configuration outlives a producer that died by this much. */
const RUN_TTL_S = 7 * 24 * 3600;

interface ChunkState {
  readonly id: string;
  readonly n: number;
  readonly count: number;
  readonly seen: Uint8Array;
  left: number;
  added: boolean;
  finished: boolean;
  /** The chunk's requests, read back from its job when the first outcome arrives. */
  requests: Promise<ChunkRequest[]> | undefined;
  /** Serialises the handling of this chunk's events. */
  chain: Promise<void>;
}

type OutItem<C> = FleetOutcome<C> | { readonly release: ChunkState };

/**
 * The producer side of a fleet: chunks of requests as BullMQ jobs (added in
 * bulk), the factory's configuration once per run, outcomes back through
 * BullMQ's job events and return values.
 *
 * @example
 * ```ts
 * await using producer = createFleetProducer({ connection: 'redis://127.0.0.1:6379/0' });
 * for await (const outcome of producer.downloadAll(requests, { config: factory.toJSON() })) {
 *   if (outcome.ok) link(outcome.context, outcome.result.path);
 * }
 * ```
 */
export function createFleetProducer(options: FleetProducerOptions): FleetProducer {
  const queueName = options.queue ?? 'dl';
  const prefix = options.prefix ?? DEFAULT_PREFIX;
  const chunkSize = positive(options.chunkSize ?? 100, 'chunkSize');
  const window = positive(options.window ?? 64, 'window');
  const attempts = positive(options.attempts ?? 3, 'attempts');
  const connection = connectionOptions(options.connection);
  const queue = new Queue<ChunkJobData, ChunkReport, string>(queueName, { connection, prefix });
  const events = new QueueEvents(queueName, { connection, prefix });
  // Connection trouble is waited out (ioredis reconnects); keep it from crashing the process.
  queue.on('error', () => {});
  events.on('error', () => {});
  let closing: Promise<void> | undefined;
  const jobOptions: JobsOptions = {
    attempts,
    backoff: { type: 'exponential', delay: 1000 },
    // The producer removes each chunk once its outcomes are in; these only clean up after a producer that died.
    removeOnComplete: { age: RUN_TTL_S },
    removeOnFail: { age: RUN_TTL_S },
  };

  async function* run<C>(
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    runOptions: FleetRunOptions,
  ): AsyncGenerator<FleetOutcome<C>> {
    const { signal } = runOptions;
    if (closing !== undefined) throw closedError();
    if (signal?.aborted) throw abortError(signal.reason);
    parseFactoryConfig(runOptions.config);
    await Promise.all([queue.waitUntilReady(), events.waitUntilReady()]);
    const runId = randomBytes(6).toString('base64url');
    const configKey = runKey(prefix, queueName, runId);
    const client = (await queue.getBackend().client) as unknown as Redis;
    await client.set(configKey, JSON.stringify(runOptions.config), 'EX', RUN_TTL_S);

    const chunks = new Map<string, ChunkState>();
    const out: OutItem<C>[] = [];
    let stopped = false;
    let pumpDone = false;
    let failure: unknown;
    let wakeConsumer: (() => void) | undefined;
    let wakePump: (() => void) | undefined;
    const wake = (): void => {
      wakeConsumer?.();
      wakeConsumer = undefined;
    };

    const requestsOf = (c: ChunkState): Promise<ChunkRequest[]> =>
      (c.requests ??= queue.getJob(c.id).then((job) => {
        if (job === undefined) throw new Error(`chunk ${c.id} is gone from the queue`);
        return decodeChunk(job.data.z);
      }));

    const deliver = async (c: ChunkState, wire: readonly WireOutcome[]): Promise<void> => {
      if (c.finished || wire.length === 0) return;
      const list = await requestsOf(c);
      for (const item of wire) {
        if (c.finished || item.i < 0 || item.i >= c.count || c.seen[item.i] === 1) continue;
        c.seen[item.i] = 1;
        c.left--;
        out.push(fromWireOutcome<C>(item, list[item.i]!));
      }
      wake();
    };

    const finish = async (
      c: ChunkState,
      wire: readonly WireOutcome[],
      reason: string,
    ): Promise<void> => {
      if (c.finished) return;
      await deliver(c, wire);
      if (c.finished) return;
      if (c.left > 0) {
        const list = await requestsOf(c);
        for (let i = 0; i < c.count; i++) {
          if (c.seen[i] === 1) continue;
          c.seen[i] = 1;
          out.push(chunkFailedOutcome<C>(list[i]!, reason));
        }
        c.left = 0;
      }
      c.finished = true;
      c.requests = undefined;
      out.push({ release: c });
      queue.remove(c.id).catch(() => {});
      wake();
    };

    const onChunk = (jobId: string, handle: (c: ChunkState) => Promise<void>): void => {
      const c = chunks.get(jobId);
      if (c === undefined || c.finished) return;
      c.chain = c.chain
        .then(() => handle(c))
        .catch((error: unknown) => {
          failure ??= error;
          wake();
        });
    };
    const onProgress = ({ jobId, data }: { jobId: string; data: unknown }): void =>
      onChunk(jobId, (c) => deliver(c, reportOf(data)));
    const onCompleted = ({ jobId, returnvalue }: { jobId: string; returnvalue: unknown }): void =>
      onChunk(jobId, (c) =>
        finish(
          c,
          reportOf(returnvalue),
          gone(returnvalue)
            ? 'the run configuration was gone when a worker took the chunk'
            : 'the chunk completed without an outcome for this file',
        ),
      );
    const onFailed = ({ jobId, failedReason }: { jobId: string; failedReason: string }): void =>
      onChunk(jobId, (c) => finish(c, [], `the chunk failed for good: ${failedReason}`));
    events.on('progress', onProgress);
    events.on('completed', onCompleted);
    events.on('failed', onFailed);

    let sweeping = false;
    const sweep = setInterval(() => {
      if (sweeping) return;
      sweeping = true;
      void (async () => {
        for (const c of [...chunks.values()]) {
          if (!c.added || c.finished || stopped) continue;
          const state = await queue.getJobState(c.id);
          if (state === 'completed' || state === 'failed' || state === 'unknown') {
            const job = state === 'unknown' ? undefined : await queue.getJob(c.id);
            if (state === 'completed') onCompleted({ jobId: c.id, returnvalue: job?.returnvalue });
            else
              onFailed({
                jobId: c.id,
                failedReason: job?.failedReason ?? 'the chunk job vanished from the queue',
              });
          }
        }
      })()
        .catch(() => {})
        .finally(() => {
          sweeping = false;
        });
    }, SWEEP_MS);

    const onAbort = (): void => {
      failure ??= abortError(signal?.reason);
      stopped = true;
      wakePump?.();
      wake();
    };
    signal?.addEventListener('abort', onAbort, { once: true });

    const pump = async (): Promise<void> => {
      let index = 0;
      let n = 0;
      let current: ChunkRequest[] = [];
      let bulk: { readonly c: ChunkState; readonly z: string }[] = [];
      const flush = async (): Promise<void> => {
        if (bulk.length === 0) return;
        const sending = bulk;
        bulk = [];
        await queue.addBulk(
          sending.map(({ c, z }) => ({
            name: 'chunk',
            data: { r: runId, n: c.n, k: c.count, z },
            opts: { ...jobOptions, jobId: c.id },
          })),
        );
        for (const { c } of sending) c.added = true;
        if (stopped) await Promise.all(sending.map(({ c }) => queue.remove(c.id).catch(() => 0)));
      };
      const close = async (): Promise<void> => {
        if (current.length === 0) return;
        const c: ChunkState = {
          id: `${runId}.${n}`,
          n: n++,
          count: current.length,
          seen: new Uint8Array(current.length),
          left: current.length,
          added: false,
          finished: false,
          requests: undefined,
          chain: Promise.resolve(),
        };
        const z = encodeChunk(current);
        current = [];
        chunks.set(c.id, c);
        bulk.push({ c, z });
        if (bulk.length >= BULK || chunks.size >= window) await flush();
        while (chunks.size >= window && !stopped) {
          await new Promise<void>((resolve) => (wakePump = resolve));
        }
      };
      for await (const request of requests) {
        if (stopped) break;
        current.push(toChunkRequest(request, index++));
        if (current.length >= chunkSize) await close();
        if (stopped) break;
      }
      if (!stopped) {
        await close();
        await flush();
      }
    };
    void pump().then(
      () => {
        pumpDone = true;
        wake();
      },
      (error: unknown) => {
        failure ??= error;
        wake();
      },
    );

    try {
      for (;;) {
        if (failure !== undefined) throw failure;
        const item = out.shift();
        if (item !== undefined) {
          if ('release' in item) {
            chunks.delete(item.release.id);
            wakePump?.();
          } else {
            yield item;
          }
          continue;
        }
        if (pumpDone && chunks.size === 0) return;
        await new Promise<void>((resolve) => (wakeConsumer = resolve));
      }
    } finally {
      stopped = true;
      wakePump?.();
      clearInterval(sweep);
      signal?.removeEventListener('abort', onAbort);
      events.off('progress', onProgress);
      events.off('completed', onCompleted);
      events.off('failed', onFailed);
      // Chunks no worker started are removed; a started one cannot be (BullMQ keeps its lock) and simply ends.
      await Promise.all(
        [...chunks.values()].filter((c) => c.added).map((c) => queue.remove(c.id).catch(() => 0)),
      );
      await client.del(configKey).catch(() => 0);
    }
  }

  return {
    downloadAll: (requests, runOptions) => ({
      [Symbol.asyncIterator]: () => run(requests, runOptions),
    }),
    close() {
      closing ??= Promise.all([events.close(), queue.close()]).then(() => undefined);
      return closing;
    },
    [Symbol.asyncDispose]() {
      return this.close();
    },
  };
}

function reportOf(value: unknown): readonly WireOutcome[] {
  const o = (value as Partial<ChunkReport> | null | undefined)?.o;
  return Array.isArray(o) ? (o as WireOutcome[]) : [];
}

function gone(value: unknown): boolean {
  return (value as { gone?: unknown } | null | undefined)?.gone === true;
}

function positive(value: number, name: string): number {
  if (!Number.isInteger(value) || value < 1) {
    throw new DownloadError(
      `Invalid fleet producer option ${name}: ${value} (a positive integer is required)`,
      {
        code: ErrorCodes.InvalidRequest,
        details: { field: name },
      },
    );
  }
  return value;
}

function abortError(reason: unknown): DownloadError {
  return new DownloadError('The fleet run was aborted', {
    code: ErrorCodes.Aborted,
    cause: reason,
  });
}

function closedError(): DownloadError {
  return new DownloadError('The fleet producer is closed', { code: ErrorCodes.Closed });
}
