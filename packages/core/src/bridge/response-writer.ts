import type { OutgoingHttpHeaders } from 'node:http';
import type { Writable } from 'node:stream';

/** The part of Node's `http.ServerResponse` the streamer uses beyond `Writable`. */
interface HttpResponseLike extends Writable {
  writeHead(status: number, headers?: OutgoingHttpHeaders): unknown;
  readonly headersSent: boolean;
}

const noop = () => {};

/**
 * Bytes a client may have buffered before a write waits for `drain`. A
 * stream's own highWaterMark is often 16 KiB (Node's default for a
 * ServerResponse) while one upstream chunk is 64 KiB: waiting at every
 * `false` would make each chunk wait a round trip to the client before the
 * next is read. A slow client still stops the copy once this much is queued.
 */
const BUFFERED_BYTES = 1024 * 1024;

/**
 * The client's side of one stream: an `http.ServerResponse` (status and
 * headers, then the body) or any `Writable` (the body only). Writes wait for
 * `drain`, so a slow client slows whoever feeds it. Notices the client going
 * away (the connection closed, the stream destroyed, the caller's signal).
 */
export class ResponseWriter {
  readonly #stream: Writable;
  readonly #http: HttpResponseLike | undefined;
  readonly #signal: AbortSignal | undefined;
  readonly #listeners = new Set<() => void>();
  /** Queued bytes above which a write waits for `drain`. */
  readonly #limit: number;
  #gone = false;

  constructor(stream: Writable, signal?: AbortSignal) {
    this.#stream = stream;
    this.#signal = signal;
    this.#http =
      typeof (stream as Partial<HttpResponseLike>).writeHead === 'function'
        ? (stream as HttpResponseLike)
        : undefined;
    this.#limit = Math.max(stream.writableHighWaterMark || 0, BUFFERED_BYTES);
    // Destroying a plain Writable with an error emits 'error'; it must not crash the process.
    if (this.#http === undefined) stream.on('error', noop);
    stream.on('close', this.#onClose);
    signal?.addEventListener('abort', this.#onGone, { once: true });
    if (signal?.aborted || stream.destroyed) this.#onGone();
  }

  /** True once the client can no longer receive anything. */
  get gone(): boolean {
    return this.#gone;
  }

  /** True when the client speaks HTTP (status and headers are sent). */
  get isHttp(): boolean {
    return this.#http !== undefined;
  }

  /** Calls `listener` once when the client goes away; returns a function that unsubscribes. */
  onGone(listener: () => void): () => void {
    if (this.#gone) {
      listener();
      return noop;
    }
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Sends the status and headers (HTTP clients only; nothing for a plain Writable). */
  start(status: number, headers: Record<string, string>): void {
    if (this.#gone || this.#http === undefined || this.#http.headersSent) return;
    this.#http.writeHead(status, headers);
  }

  /**
   * Writes one chunk: `true` at once while the client keeps up, a promise
   * that waits for `drain` when it is behind; false (or a promise of false)
   * when it went away.
   */
  write(chunk: Uint8Array): boolean | Promise<boolean> {
    if (this.#gone) return false;
    const stream = this.#stream;
    if (stream.write(chunk) || (!stream.destroyed && stream.writableLength < this.#limit)) {
      return true;
    }
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        this.#stream.off('drain', onDrain);
        off();
        resolve(ok && !this.#gone);
      };
      const onDrain = () => done(true);
      const off = this.onGone(() => done(false));
      this.#stream.on('drain', onDrain);
    });
  }

  /** Ends the response cleanly and waits until it was flushed (or the client went away). */
  end(): Promise<void> {
    if (this.#gone) return Promise.resolve();
    return new Promise((resolve) => {
      const off = this.onGone(() => resolve());
      this.#stream.end(() => {
        off();
        resolve();
      });
    });
  }

  /**
   * Ends the response so the client sees a failed transfer, never a clean
   * end: the connection of an HTTP response is reset; a plain Writable is
   * destroyed with `error`.
   */
  fail(error: Error): void {
    this.#dispose();
    if (this.#stream.destroyed) return;
    if (this.#http !== undefined) this.#stream.destroy();
    else this.#stream.destroy(error);
  }

  /** Stops watching the client. */
  close(): void {
    this.#dispose();
  }

  readonly #onClose = () => {
    const finished = (this.#stream as { writableFinished?: boolean }).writableFinished === true;
    if (!finished) this.#onGone();
  };

  readonly #onGone = () => {
    if (this.#gone) return;
    this.#gone = true;
    const listeners = [...this.#listeners];
    this.#listeners.clear();
    for (const listener of listeners) listener();
  };

  #dispose(): void {
    this.#gone = true;
    this.#listeners.clear();
    this.#stream.off('close', this.#onClose);
    this.#signal?.removeEventListener('abort', this.#onGone);
  }
}
