import type { ErrorCode } from '@dl/core';

/**
 * Faults the memory store injects for one URL. Set with
 * `store.fault(url, fault)`; a new call replaces the previous fault of that
 * URL. Counted faults (`failOpens`, `cutAfter`) wear off as they are used;
 * the others last until `store.clearFaults(url)`.
 */
export interface MemoryFault {
  /** The next N opens reject with a retryable `DownloadError`. */
  readonly failOpens?: number;
  /** Code of the errors `failOpens` produces. @default 'remote-unavailable' */
  readonly failCode?: ErrorCode;
  /** Retry-after hint carried by the errors `failOpens` produces. */
  readonly retryAfterMs?: number;
  /** Every open rejects with a non-retryable `not-found`, as if the file did not exist. */
  readonly notFound?: boolean;
  /**
   * The body of the next `cutTimes` transfers fails with a retryable
   * `connection-failed` after this many bytes of that transfer. A transfer
   * shorter than this is not cut and does not use up a cut.
   */
  readonly cutAfter?: number;
  /** How many transfers `cutAfter` breaks. @default 1 */
  readonly cutTimes?: number;
  /** Serve corrupted bytes: flip the byte at this absolute offset (`true`: the middle byte). */
  readonly corrupt?: boolean | number;
  /** Ignore the requested offset and range: serve the whole file with `metadata.offset` 0. */
  readonly ignoreRange?: boolean;
  /** Delay before `open` resolves (time to metadata), honouring the abort signal. */
  readonly openDelayMs?: number;
  /** Delay before the first body chunk, honouring the abort signal. */
  readonly firstByteDelayMs?: number;
  /** Delay between body chunks, honouring the abort signal. */
  readonly chunkDelayMs?: number;
}
