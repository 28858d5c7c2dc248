import {
  REDACTED_SECRET,
  redactUrl,
  type DownloadRequest,
  type DownloaderFactory,
  type FactoryConfig,
} from '@dl/core';
import type { FleetOutcome } from '@dl/bullmq';
import { UsageError } from '../exit-codes.js';
import { queueUrl } from '../queue-url.js';
import type { FinishedRecord } from '../output/finished-record.js';
import type { EntryContext } from './entry-context.js';
import type { GetOptions } from './get-options.js';
import { badRecord } from './plan-entry.js';

/** Header names whose inline value `@dl/http` redacts from its plain data (so a worker could not use it). */
const SENSITIVE_HEADER = /authorization|cookie|token|secret|password|api-?key|auth/i;

/** A finished record and how the tally counts it. */
export interface FleetRecord {
  readonly record: FinishedRecord;
  readonly verified: boolean;
}

/** `dl get --queue`: the run's requests go to a fleet of `dl worker`s instead of the local factory. */
export interface FleetRun {
  /**
   * Enqueues `requests` and yields each one's record once, as the fleet
   * finishes them. A request that cannot travel (a password in its URL) is
   * handed to `refused` instead.
   */
  downloadAll(
    requests: AsyncIterable<DownloadRequest<EntryContext> & { readonly context: EntryContext }>,
    signal: AbortSignal,
    refused: (record: FinishedRecord) => void,
  ): AsyncIterable<FleetRecord>;
  /** Closes the producer's Redis connections. */
  close(): Promise<void>;
}

/**
 * Checks that the run's configuration can go to Redis (credentials by
 * reference only: an inline one is a usage error naming its option) and
 * opens a producer on `options.queue`. `@dl/bullmq` (BullMQ, ioredis) is
 * imported here, so a local run never loads it.
 */
export async function openFleetRun(
  options: GetOptions & { readonly queue: string },
  factory: DownloaderFactory,
): Promise<FleetRun> {
  const connection = queueUrl(options.queue);
  for (const raw of options.header) {
    const name = raw.slice(0, Math.max(raw.indexOf(':'), 0)).trim();
    if (SENSITIVE_HEADER.test(name)) {
      throw new UsageError(
        `--header ${name}: with --queue a credential given inline would have to be stored in Redis; ` +
          `use --header-env ${name}=VARIABLE or --header-file ${name}=FILE (each worker reads it)`,
      );
    }
  }
  const config = factory.toJSON();
  const inline = redactedPath(config);
  if (inline !== undefined) {
    throw new UsageError(
      `--queue: the configuration holds a credential given inline (${inline}); give it by reference (an environment variable or a file each worker can read)`,
    );
  }
  const { createFleetProducer } = await import('@dl/bullmq');
  const producer = createFleetProducer({
    connection,
    ...(options.name === undefined ? {} : { queue: options.name }),
  });
  return {
    async *downloadAll(requests, signal, refused) {
      async function* travelling(): AsyncGenerator<DownloadRequest<EntryContext>> {
        for await (const request of requests) {
          const url = request.url instanceof URL ? request.url : new URL(request.url);
          if (url.password !== '') {
            refused(
              badRecord(
                'a password in the URL would be stored in Redis with --queue; give credentials by reference (--http-user with --http-password-env, --ftp-user with --ftp-password-env, ...)',
                request.context.line,
                { url: redactUrl(url), path: request.context.path },
              ),
            );
            continue;
          }
          yield request;
        }
      }
      for await (const outcome of producer.downloadAll(travelling(), { config, signal })) {
        yield { record: fleetRecordOf(outcome), verified: outcome.context.verified };
      }
    },
    close: () => producer.close(),
  };
}

/** Where the first redacted (inline) secret of `config` is, as `adapters[1].options.headers.X`. */
function redactedPath(config: FactoryConfig): string | undefined {
  const search = (value: unknown, at: string): string | undefined => {
    if (value === null || typeof value !== 'object') return undefined;
    const record = value as Record<string, unknown>;
    if (record.redacted === REDACTED_SECRET.redacted && Object.keys(record).length === 1) return at;
    for (const [key, inner] of Object.entries(record)) {
      const found = search(inner, Array.isArray(value) ? `${at}[${key}]` : `${at}.${key}`);
      if (found !== undefined) return found;
    }
    return undefined;
  };
  return search(config.adapters, 'adapters') ?? search(config.interceptors, 'interceptors');
}

/** The record a fleet outcome makes: the same fields, from the same places, as a local run's. */
export function fleetRecordOf(outcome: FleetOutcome<EntryContext>): FinishedRecord {
  const { context, request } = outcome;
  let record: { -readonly [K in keyof FinishedRecord]: FinishedRecord[K] };
  if (outcome.ok) {
    const { result } = outcome;
    record = {
      url: redactUrl(request.url),
      path: result.path ?? context.path,
      size: result.size,
      digests: result.digests,
      ok: true,
      error: null,
    };
  } else {
    const { error } = outcome;
    record = {
      url: redactUrl(request.url),
      path: context.path,
      size: request.size ?? null,
      digests: request.digests ?? {},
      ok: false,
      error: { code: error.code, message: error.message },
    };
  }
  if (context.line !== undefined) record.line = context.line;
  if (outcome.ok && outcome.result.skipped) record.skipped = true;
  return record;
}
