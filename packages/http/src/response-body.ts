import { Readable, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DownloadError, ErrorCodes } from '@dl/core';
import type { AttemptControl } from './attempt-control.js';
import { networkError } from './network-errors.js';

/** What the body wrapper needs to know about one response. */
export interface BodyOptions {
  /** `Content-Length` of this response, when sent. */
  readonly length: number | undefined;
  /** Leading bytes to drop (a partial read answered with the whole resource). @default 0 */
  readonly skip?: number;
  /** Bytes to deliver after `skip`, then stop. @default all */
  readonly take?: number;
  /** Content coding to undo (only with opt-in decoding). */
  readonly decode: 'gzip' | 'deflate' | 'br' | undefined;
  readonly url: URL;
  readonly callerSignal: AbortSignal;
  readonly control: AttemptControl;
  /** Scrubs secrets from error text. */
  readonly scrub: (error: DownloadError) => DownloadError;
}

/**
 * The body handed to the core: the bytes exactly as received (or decoded,
 * when asked), failing with a retryable `protocol-error` when they are
 * shorter or longer than `Content-Length`, with `timeout` when idle too
 * long, and with `aborted` when the caller aborted. Stopping early destroys
 * the response, which frees (closes) its connection.
 */
export function responseBody(raw: Readable, options: BodyOptions): AsyncIterable<Uint8Array> {
  const bytes = new ReceivedBody(raw, options);
  if (options.decode === undefined) return bytes;
  const decoder =
    options.decode === 'br'
      ? createBrotliDecompress()
      : options.decode === 'deflate'
        ? createInflate()
        : createGunzip();
  const decoded = pipeline(Readable.from(bytes, { objectMode: false }), decoder, () => {});
  return mapErrors(decoded, options);
}

/**
 * Reads the undici body with `read()` and one set of listeners for the whole
 * body, instead of an async generator over the stream's own iterator (two
 * promise layers and an end-of-stream watcher per response). Its `return()`
 * frees the response even before the first `next()`, which a generator's
 * `finally` would not.
 */
class ReceivedBody implements AsyncIterableIterator<Uint8Array> {
  readonly #raw: Readable;
  readonly #options: BodyOptions;
  readonly #skip: number;
  readonly #end: number;
  readonly #whole: boolean;
  #count = 0;
  #ended = false;
  #cut = false;
  #failure: unknown;
  #finished = false;
  #waiter: { resolve: () => void; reject: (error: unknown) => void } | undefined;

  constructor(raw: Readable, options: BodyOptions) {
    this.#raw = raw;
    this.#options = options;
    this.#skip = options.skip ?? 0;
    this.#end = options.take === undefined ? Number.POSITIVE_INFINITY : this.#skip + options.take;
    this.#whole = this.#skip === 0 && this.#end === Number.POSITIVE_INFINITY;
    raw.on('readable', this.#wake);
    raw.on('end', this.#onEnd);
    raw.on('error', this.#onError);
    raw.on('close', this.#onClose);
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<Uint8Array>> {
    for (;;) {
      if (this.#finished) return { done: true, value: undefined };
      if (this.#failure !== undefined) throw this.#fail(this.#failure);
      if (this.#cut) {
        this.#close(false);
        return { done: true, value: undefined };
      }
      const chunk = this.#raw.read() as Uint8Array | null;
      if (chunk !== null) {
        const value = this.#take(chunk);
        if (value !== undefined) return { done: false, value };
        continue;
      }
      if (this.#ended) {
        this.#complete();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve, reject) => (this.#waiter = { resolve, reject }));
    }
  }

  async return(): Promise<IteratorResult<Uint8Array>> {
    this.#close(false);
    return { done: true, value: undefined };
  }

  /** The part of `chunk` to hand on; undefined when none of it is wanted. */
  #take(chunk: Uint8Array): Uint8Array | undefined {
    const { length, url } = this.#options;
    const before = this.#count;
    this.#count += chunk.byteLength;
    if (length !== undefined && this.#count > length) {
      throw this.#fail(
        protocolError(
          `The body is longer than its Content-Length (${length} bytes)`,
          url,
          this.#count,
          length,
        ),
      );
    }
    if (this.#whole) return chunk;
    const from = Math.max(0, this.#skip - before);
    const to = Math.min(chunk.byteLength, this.#end - before);
    // Everything wanted is in: the rest stays on a connection that cannot be reused.
    if (this.#count >= this.#end) this.#cut = true;
    return to > from ? chunk.subarray(from, to) : undefined;
  }

  #complete(): void {
    const { length, url } = this.#options;
    if (length !== undefined && this.#count < length) {
      throw this.#fail(
        protocolError(
          `The body ended after ${this.#count} of ${length} bytes`,
          url,
          this.#count,
          length,
        ),
      );
    }
    this.#close(true);
  }

  /** Maps a failure once, frees the response, and returns the error to throw. */
  #fail(error: unknown): DownloadError {
    this.#close(false);
    const options = this.#options;
    const { length, url } = options;
    if (DownloadError.isInstance(error)) return options.scrub(error);
    const mapped = networkError(error, url, options.callerSignal, options.control.cause);
    if (
      length !== undefined &&
      this.#count < length &&
      (mapped.code === ErrorCodes.ConnectionFailed || mapped.code === ErrorCodes.Internal)
    ) {
      return options.scrub(
        protocolError(
          `The body ended after ${this.#count} of ${length} bytes (connection lost)`,
          url,
          this.#count,
          length,
          error,
        ),
      );
    }
    return options.scrub(mapped);
  }

  /** Detaches; a body not read to its end leaves bytes on the connection, so it is destroyed. */
  #close(complete: boolean): void {
    if (this.#finished) return;
    this.#finished = true;
    const raw = this.#raw;
    raw.off('readable', this.#wake);
    raw.off('end', this.#onEnd);
    raw.off('error', this.#onError);
    raw.off('close', this.#onClose);
    this.#options.control.dispose();
    if (!complete) raw.destroy();
  }

  readonly #wake = (): void => {
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve();
  };

  readonly #onEnd = (): void => {
    this.#ended = true;
    this.#wake();
  };

  readonly #onError = (error: unknown): void => {
    this.#failure ??= error;
    this.#wake();
  };

  readonly #onClose = (): void => {
    if (!this.#ended) this.#failure ??= prematureClose();
    this.#wake();
  };
}

function prematureClose(): Error {
  return Object.assign(new Error('Premature close'), { code: 'ERR_STREAM_PREMATURE_CLOSE' });
}

async function* mapErrors(stream: Readable, options: BodyOptions): AsyncGenerator<Uint8Array> {
  try {
    for await (const chunk of stream as AsyncIterable<Uint8Array>) yield chunk;
  } catch (error) {
    if (DownloadError.isInstance(error)) throw error;
    throw options.scrub(
      new DownloadError('The body could not be decoded', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        url: options.url,
        cause: error,
      }),
    );
  } finally {
    stream.destroy();
  }
}

function protocolError(
  message: string,
  url: URL,
  actual: number,
  expected: number,
  cause?: unknown,
): DownloadError {
  return new DownloadError(message, {
    code: ErrorCodes.ProtocolError,
    retryable: true,
    url,
    details: { expected, actual },
    ...(cause === undefined ? {} : { cause }),
  });
}
