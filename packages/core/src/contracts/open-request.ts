import type { DownloadRequest } from './download-request.js';
import type { RemoteMetadata } from './remote-resource.js';

/** What one attempt asks an adapter (or a wrapper around one) to open. */
export interface OpenRequest {
  /** What to open. May differ from the request's URL (mirrors). */
  readonly url: URL;
  /** First byte wanted. Adapters that cannot start there return `metadata.offset` 0 instead. */
  readonly offset: number;
  /** Last byte wanted (inclusive), for range requests; the end of the resource when absent. */
  readonly end?: number;
  /** Extra protocol headers from the request (HTTP). */
  readonly headers: Readonly<Record<string, string>>;
  /**
   * Aborted when the attempt fails or is cancelled; every await of the
   * adapter must honour it. A successful attempt ends without an abort, when
   * its body has been read to the end, so an adapter must detach its
   * listeners from this signal once a transfer completed (or the finished
   * transfer's connection gets closed). The lifecycle guard counts an open as
   * in flight until its body is over (read to the end, failed, given back
   * with `return()` or destroyed) or this signal aborts, so a wrapper that
   * calls `next` itself (to fetch a mirror list) must read that body to the
   * end or give it back, or abort the signal it passed.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The retry budget: the last attempt has `attempt === maxAttempts`. */
  readonly maxAttempts: number;
  /** Metadata of the attempt whose bytes are being resumed, for `If-Range`-style checks. */
  readonly resumeFrom?: RemoteMetadata;
  /** The request this attempt serves (wrappers read its context, path and expectations). */
  readonly download: DownloadRequest<unknown>;
}
