import type { DownloadOutcome } from './download-result.js';
import type { DownloadRequest } from './download-request.js';
import type { Downloader } from './downloader.js';
import type { DownloadEvents, DownloadStats } from './progress.js';
import type { Session } from './session.js';
import type { FactoryConfig } from '../config/factory-config.js';

/** Options of one `downloadAll` batch. */
export interface DownloadAllOptions {
  /** Cancels the batch: every transfer ends and every temp file is removed before the loop ends. */
  readonly signal?: AbortSignal;
  /** Requests pulled ahead of free slots, to find work for idle hosts. @default 4 × total limit, at least 64 */
  readonly lookAhead?: number;
  /** Stop at the first failure: abort the rest and throw it from the loop. @default false */
  readonly failFast?: boolean;
}

/**
 * The one way in, for the importer and the streamer alike. Built from
 * explicitly passed adapters; picks the adapter by URL scheme; owns one
 * {@link Session} per adapter; runs batches through the scheduler.
 */
export interface DownloaderFactory extends Downloader, AsyncDisposable {
  /**
   * Downloads every request of any `Iterable` or `AsyncIterable`, pulled
   * lazily as slots free up, and yields outcomes in completion order. A
   * failed download is an outcome, not an exception. Leaving the loop early
   * (`break`, `return`, a throw) aborts what is in flight and removes temp
   * files before the loop statement completes.
   */
  downloadAll<C>(
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    options?: DownloadAllOptions,
  ): AsyncIterable<DownloadOutcome<C>>;
  /** The schemes the registered adapters serve. */
  readonly schemes: readonly string[];
  /** True when an adapter serves the URL's scheme. */
  supports(url: string | URL): boolean;
  /** The session of the adapter that serves `scheme` (created on first use). */
  session(scheme: string): Promise<Session>;
  /** Aggregate figures since the factory was created. */
  stats(): DownloadStats;
  /** Subscribes to progress events; returns a function that unsubscribes. */
  on<E extends keyof DownloadEvents>(
    event: E,
    listener: (payload: DownloadEvents[E]) => void,
  ): () => void;
  /**
   * The configuration as plain data, for `rebuildDownloaderFactory` in
   * another process. Throws when an adapter or an interceptor has no
   * `toJSON()`.
   */
  toJSON(): FactoryConfig;
  /** Graceful: waits for downloads in flight, then closes every session. Idempotent. */
  close(): Promise<void>;
  /** Abrupt: aborts downloads in flight and closes every session now. Idempotent. */
  destroy(): Promise<void>;
}
