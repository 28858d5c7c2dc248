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
  /** Retry policy. @default { maxAttempts: 5, baseDelayMs: 200, maxDelayMs: 30000 } */
  readonly retry?: RetryOptions;
  /** Behaviours composed around `open`, outermost first (mirror failover, auth, rate limits). @default [] */
  readonly interceptors?: readonly OpenInterceptor[];
  /** Appended to `dl/<version>` in the identification adapters send. @default '' */
  readonly userAgent?: string;
  /** Where diagnostics go. @default a logger that drops everything */
  readonly logger?: Logger;
}
