import type { BudgetProvider } from './admission-budget.js';
import type { Limits } from './limits.js';
import type { Logger } from './logger.js';
import type { OpenInterceptor } from './open-function.js';
import type { ProtocolAdapter } from './protocol-adapter.js';
import type { RetryOptions } from './retry-options.js';

/** What `createDownloaderFactory` is built from. */
export interface DownloaderFactoryOptions {
  /** The adapter instances to use. Two adapters may not serve the same scheme. */
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  readonly adapters: readonly ProtocolAdapter<any>[];
  /** Concurrency limits. @default { total: 16, perHost: 8 } */
  readonly limits?: Limits;
  /**
   * Builds the admission budget that every transfer asks for a permit: the
   * in-process limiter by default; `@dl/bullmq`'s Redis budget shares the
   * per-host limits (and host pauses) across a fleet of workers. Code, not
   * configuration: it is not part of `toJSON()`, and each process passes its own.
   * @default the in-process limiter over `limits`
   */
  readonly budget?: BudgetProvider;
  /**
   * Connections one large download may be split over (see
   * `DownloadRequest.split`), for requests that do not say. @default 1
   */
  readonly split?: number;
  /**
   * The least bytes per segment of a split download: a file smaller than
   * twice this is never split, and a larger one gets at most `size / splitMinSize`
   * segments. @default 8 MiB
   */
  readonly splitMinSize?: number;
  /** Retry policy. @default { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 30000 } */
  readonly retry?: RetryOptions;
  /** Behaviours composed around `open`, outermost first (mirror failover, auth, rate limits). @default [] */
  readonly interceptors?: readonly OpenInterceptor[];
  /** Appended to `dl/<version>` in the identification adapters send. @default '' */
  readonly userAgent?: string;
  /**
   * A download to a `destination` that is interrupted (cancelled, SIGINT, a
   * failure after its retries) with at least this many bytes on disk, and a
   * validator to prove a resume by (ETag, Last-Modified/MDTM/mtime, or
   * expected digests), is kept as `.NAME.dl-resume` with a record
   * (`.NAME.dl-resume.json`) instead of being removed; the next download of
   * the same request to the same destination resumes it. Past this size a
   * live temp file also gets a record (`TEMP.json`), so that after a
   * `kill -9` stale-temp cleanup (`removeStaleTemps`) adopts it. 0 keeps
   * nothing and never looks for kept partials.
   * @default 1048576 (1 MiB)
   */
  readonly keepPartialBytes?: number;
  /** Where diagnostics go. @default a logger that drops everything */
  readonly logger?: Logger;
}
