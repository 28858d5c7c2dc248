import type { DownloadRequest } from './download-request.js';
import type { DownloadResult } from './download-result.js';
import type { RemoteMetadata } from './remote-resource.js';

/** Per-call options. */
export interface CallOptions {
  /** Cancels the call: transfers end, temp files are removed, the promise rejects with code `aborted`. */
  readonly signal?: AbortSignal;
}

/**
 * A download opened for streaming (the streamer's entry): metadata first,
 * then the body, validated as it is read.
 */
export interface OpenedDownload<C = unknown> extends AsyncDisposable {
  /**
   * The remote's metadata, known before the first body byte. When an attempt
   * fails and another attempt (or mirror) serves the bytes (a retry before
   * the first byte, a resume after it), this follows the attempt serving them.
   */
  readonly metadata: RemoteMetadata;
  /**
   * The bytes, read once. Every chunk has passed the validators; a size
   * overrun throws at once, and a digest mismatch throws after the last chunk
   * instead of ending, so a consumer never sees a clean end of bad bytes.
   */
  readonly body: AsyncIterable<Uint8Array>;
  /** Settles when the body was read to the end (or failed). */
  readonly result: Promise<DownloadResult<C>>;
  /** Stops the transfer and frees its connection. */
  abort(reason?: unknown): void;
}

/**
 * One download with its attempts: retry with backoff, resume from the offset
 * reached, and whatever behaviours are composed around `open`.
 */
export interface Downloader {
  /**
   * Downloads one request to its destination (or `writable`, or nowhere:
   * then it only validates). Resolves after the file validated and was
   * renamed into place; rejects with a `DownloadError` otherwise, leaving
   * nothing at the destination.
   */
  download<C>(request: DownloadRequest<C>, options?: CallOptions): Promise<DownloadResult<C>>;
  /**
   * Opens one request for streaming: any retry (or failover) happens before
   * the first body byte is handed out. After it, a failure is only resumed
   * at the offset reached (with the hash state kept), and only when the
   * adapter can resume and the resume provably continues the same bytes (a
   * strong ETag or modification time the adapter checks, or digests over the
   * whole file); otherwise, or when the resumed attempt shows another file
   * (started at byte 0, other size or validator), the body ends with an
   * error. It never starts again from byte 0: the reader would get bytes twice.
   */
  open<C>(request: DownloadRequest<C>, options?: CallOptions): Promise<OpenedDownload<C>>;
}
