import type { ChangeValidators, DownloadRequest } from './download-request.js';
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
   * transfer's connection gets closed). A wrapper may pass a signal of its
   * own (linked to this one); it keeps {@link OpenRequest.lifetime} by
   * spreading the request.
   */
  readonly signal: AbortSignal;
  /** 1 for the first attempt. */
  readonly attempt: number;
  /** The retry budget: the last attempt has `attempt === maxAttempts`. */
  readonly maxAttempts: number;
  /** Metadata of the attempt whose bytes are being resumed, for `If-Range`-style checks. */
  readonly resumeFrom?: RemoteMetadata;
  /**
   * The request's {@link DownloadRequest.ifChanged}, on attempts that start
   * from byte 0 only. An adapter that can tell the remote is unchanged
   * returns `metadata.notModified: true` and an empty body; one that cannot
   * ignores it and serves the file.
   */
  readonly ifChanged?: ChangeValidators;
  /** The request this attempt serves (wrappers read its context, path and expectations). */
  readonly download: DownloadRequest<unknown>;
  /**
   * The attempt this open serves, ended exactly once by the core when the
   * attempt is over (successful, failed or cancelled). The lifecycle guard
   * counts an open as in flight until its body is over (read to the end,
   * failed, given back with `return()` or destroyed), and at the attempt's
   * end gives back a body still open: a wrapper that hands on an inner body
   * through a generator of its own cannot promise that, since a generator
   * given back before its first `next()` never runs its `finally`.
   *
   * A wrapper passes it on unchanged (spreading the request does). Whoever
   * opens without it (a wrapper fetching a mirror list for itself, a test)
   * must read the body to the end or give it back, or abort the signal it
   * passed: nothing else ends that open.
   */
  readonly lifetime?: AttemptLifetime;
}

/**
 * One attempt's end, as the core's attempt loop reports it. A failed or
 * cancelled attempt's signal aborts before its end; a successful attempt
 * ends without an abort, once its body was read and the bytes committed.
 */
export interface AttemptLifetime {
  /** True once the attempt is over. */
  readonly ended: boolean;
  /** Runs `fn` once when the attempt is over (at once if it already is). `fn` must not throw. */
  onEnd(fn: () => void): void;
}
