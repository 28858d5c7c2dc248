import type { Readable } from 'node:stream';
import type { DownloadError } from '../errors/download-error.js';
import type { Digests } from './digests.js';

/**
 * What an adapter knows about a remote resource before (or without) reading
 * its body. Available to the streamer before the first body byte.
 */
export interface RemoteMetadata {
  /** The URL that actually served the bytes (after redirects), without credentials. */
  readonly url: string;
  /** Total size of the whole resource in bytes, when the remote says. */
  readonly size?: number;
  /** Byte offset of the first body byte within the resource. 0 when the adapter (re)started from the beginning. */
  readonly offset: number;
  /** Number of body bytes this open will deliver, when known. */
  readonly length?: number;
  /** Media type, when the protocol has one. */
  readonly contentType?: string;
  /** Entity tag as sent (with quotes, `W/` prefix kept), used for `If-Range` on resume. */
  readonly etag?: string;
  /** Last modification time as an HTTP-date string. */
  readonly lastModified?: string;
  /** Protocol status (HTTP status, FTP reply code) when there is one. */
  readonly status?: number;
  /** Protocol headers with lowercase names, as received. Adapters must not put request credentials here. */
  readonly headers: Readonly<Record<string, string>>;
  /** Digests the remote advertised (RFC 3230 `Digest`, RFC 9530 `Repr-Digest`); checked when we compute them. */
  readonly digests?: Digests;
  /**
   * True when the open carried `OpenRequest.ifChanged` and the remote
   * is unchanged (HTTP 304, equal size and modification time): the body is
   * then empty and the core keeps the existing file. Never set otherwise.
   */
  readonly notModified?: true;
}

/** How one attempt ended, reported to whoever produced the resource. */
export interface AttemptOutcome {
  /** True when the body was read to the end and validated. */
  readonly ok: boolean;
  /** Why it failed, when it did. */
  readonly error?: DownloadError;
  /** Body bytes received in this attempt. */
  readonly bytes: number;
  /** Wall time from open to settle. */
  readonly durationMs: number;
}

/** An opened remote resource: metadata first, then the body. */
export interface RemoteResource {
  /** Known before the first body byte. */
  readonly metadata: RemoteMetadata;
  /**
   * The bytes from `metadata.offset` on. The core reads it once; if it stops
   * early it calls `return()` on the iterator (or destroys the stream) and
   * aborts the open's signal, so the adapter must free the connection then.
   * A {@link PushableBody} may be read either way: pushed to a consumer
   * (what the attempt loop does) or iterated (the streamer, decoders).
   */
  readonly body: AsyncIterable<Uint8Array> | Readable | PushableBody;
  /**
   * Size and digests a wrapper learnt for this resource (e.g. from a
   * metalink); merged into the request's expectations before validation.
   */
  readonly expect?: { readonly size?: number; readonly digests?: Digests };
  /**
   * Set by wrappers that can reach another source on the next attempt (mirror
   * sets): a validation failure or a not-found then counts as retryable.
   */
  readonly failover?: boolean;
  /** Called once when the attempt is over (body read and validated, failed, or abandoned). */
  onSettled?(outcome: AttemptOutcome): void;
  /**
   * Called (after `onSettled`) when this attempt's failure ends the download:
   * no attempt left, or nothing left worth retrying. May return a more telling
   * error — a mirror set lists what every mirror tried did.
   */
  finalError?(error: DownloadError): DownloadError;
}

/**
 * Takes the chunks of a body an adapter pushes (see {@link PushableBody}).
 * The consumer is called synchronously from the adapter's data path, so a
 * chunk costs a call, not a promise.
 */
export interface BodyConsumer {
  /**
   * Takes the next chunk; the consumer owns it from then on. Returns nothing
   * when it can take the next one at once, or a promise while it is busy (a
   * write waits for the disk, a rate cap says wait): the adapter then stops
   * reading its source, so the socket backs up, and goes on once the
   * promise settles. A rejection ends the body with that error: the
   * adapter frees its source and `pushTo` rejects with it. No chunk is
   * passed while a returned promise is pending. The core's consumer never
   * throws (a failure comes as a rejection); an adapter's own consumer
   * should not either.
   */
  data(chunk: Uint8Array): void | Promise<unknown>;
}

/**
 * A body that can also push its chunks to a consumer, for adapters whose
 * source is callback-driven (undici's dispatch handlers, a socket): no
 * stream and no promise per chunk in between. It stays an async iterable
 * for readers that pull; one body is read once, either way, never both.
 *
 * A wrapper that replaces a resource's `body` drops the push path with it,
 * so nothing can bypass the wrapper.
 */
export interface PushableBody extends AsyncIterable<Uint8Array> {
  /**
   * Pushes every chunk from the current position to `consumer`, pausing
   * the source while a returned promise is pending. Resolves once the body
   * ended and its last chunk was taken (a pending promise of the consumer
   * included); rejects when it failed: a network or protocol error, a body
   * shorter or longer than the remote announced, the consumer's rejection,
   * or an abort of the open's signal (the source is stopped and the
   * connection freed first). Called at most once, and not after iterating.
   */
  pushTo(consumer: BodyConsumer): Promise<void>;
}

/** Whether `body` can push its chunks (see {@link PushableBody}). */
export function isPushable(body: RemoteResource['body']): body is PushableBody {
  return typeof (body as Partial<PushableBody>).pushTo === 'function';
}
