import { Readable, pipeline } from 'node:stream';
import { createBrotliDecompress, createGunzip, createInflate } from 'node:zlib';
import { DownloadError, ErrorCodes, type BodyConsumer, type PushableBody } from '@dl/core';
import type { AttemptControl } from './attempt-control.js';
import type { ExchangeReader, HttpExchange } from './http-exchange.js';
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
 * long, and with `aborted` when the caller aborted. Stopping early aborts
 * the exchange, which frees (closes) its connection. Undecoded, it pushes
 * (see {@link PushableBody}); decoded, it is only iterated.
 */
export function responseBody(
  exchange: HttpExchange,
  options: BodyOptions,
): AsyncIterable<Uint8Array> | PushableBody {
  const bytes = new HttpBody(exchange, options);
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
 * The reader of one exchange's body: checks its length against
 * `Content-Length`, cuts out `skip`/`take`, maps failures to
 * `DownloadError`s (secrets scrubbed), and hands the bytes on to one
 * consumer, pushed ({@link pushTo}) or pulled (iterated).
 */
class HttpBody implements PushableBody, ExchangeReader {
  readonly #exchange: HttpExchange;
  readonly #options: BodyOptions;
  readonly #skip: number;
  readonly #end: number;
  readonly #whole: boolean;
  #count = 0;
  #used = false;
  /** Told the end or a failure: nothing more is handed on. */
  #done = false;
  #consumer: BodyConsumer | undefined;
  #resolve: (() => void) | undefined;
  #reject: ((error: unknown) => void) | undefined;

  constructor(exchange: HttpExchange, options: BodyOptions) {
    this.#exchange = exchange;
    this.#options = options;
    this.#skip = options.skip ?? 0;
    this.#end = options.take === undefined ? Number.POSITIVE_INFINITY : this.#skip + options.take;
    this.#whole = this.#skip === 0 && this.#end === Number.POSITIVE_INFINITY;
  }

  pushTo(consumer: BodyConsumer): Promise<void> {
    if (this.#used) return Promise.reject(new Error('The body was already read'));
    this.#used = true;
    this.#consumer = consumer;
    return new Promise<void>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
      this.#exchange.attach(this);
    });
  }

  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    const pull = new PullReader(this);
    if (this.#used) pull.fail(new Error('The body was already read'));
    else this.pushTo(pull).then(pull.end, pull.fail);
    return pull;
  }

  /** Stops reading before the end (the iterator's `return()`): the connection is closed. */
  cancel(): void {
    if (this.#done) return;
    this.#settle();
    this.#exchange.abort(CANCELLED);
    this.#resolve?.();
  }

  data(chunk: Buffer): void | Promise<unknown> {
    if (this.#done) return;
    const { length } = this.#options;
    const before = this.#count;
    this.#count += chunk.byteLength;
    if (length !== undefined && this.#count > length) {
      this.#failWith(
        protocolError(
          `The body is longer than its Content-Length (${length} bytes)`,
          this.#options.url,
          this.#count,
          length,
        ),
      );
      return;
    }
    if (this.#whole) return this.#consumer!.data(chunk);
    const from = Math.max(0, this.#skip - before);
    const to = Math.min(chunk.byteLength, this.#end - before);
    const wanted = to > from ? this.#consumer!.data(chunk.subarray(from, to)) : undefined;
    if (this.#count < this.#end) return wanted;
    // Everything wanted is in: the rest stays on a connection that cannot be reused.
    this.#settle();
    this.#exchange.abort(CANCELLED);
    if (wanted === undefined) this.#resolve!();
    else wanted.then(this.#resolve, this.#reject);
  }

  end(): void {
    if (this.#done) return;
    const { length, url } = this.#options;
    if (length !== undefined && this.#count < length) {
      this.#failWith(
        protocolError(
          `The body ended after ${this.#count} of ${length} bytes`,
          url,
          this.#count,
          length,
        ),
      );
      return;
    }
    this.#complete();
  }

  fail(error: unknown, refused = false): void {
    if (this.#done) return;
    if (!refused) return this.#failWith(error);
    // The consumer's own rejection (a write that failed, a digest that did not match): as it is.
    this.#settle();
    this.#reject!(error);
  }

  #complete(): void {
    if (this.#done) return;
    this.#settle();
    this.#resolve!();
  }

  /** Maps a failure once, frees the response, and rejects with the error. */
  #failWith(error: unknown): void {
    if (this.#done) return;
    this.#settle();
    this.#exchange.abort(CANCELLED);
    this.#reject!(this.#mapped(error));
  }

  #settle(): void {
    this.#done = true;
    this.#options.control.dispose();
  }

  #mapped(error: unknown): DownloadError {
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
}

/** Why a body was let go of before its end. */
const CANCELLED = new Error('The body was not read to its end');

/**
 * An async iterator over a pushed body: holds one chunk, and keeps the
 * push waiting (its promise) until the next `next()` takes it.
 */
class PullReader implements AsyncIterator<Uint8Array>, BodyConsumer {
  readonly #body: HttpBody;
  #chunk: Uint8Array | undefined;
  #taken: (() => void) | undefined;
  #waiter:
    { resolve: (r: IteratorResult<Uint8Array>) => void; reject: (e: unknown) => void } | undefined;
  #ended = false;
  #failure: unknown;
  #failed = false;

  constructor(body: HttpBody) {
    this.#body = body;
  }

  data(chunk: Uint8Array): void | Promise<void> {
    const waiter = this.#waiter;
    if (waiter !== undefined) {
      this.#waiter = undefined;
      waiter.resolve({ done: false, value: chunk });
      return;
    }
    this.#chunk = chunk;
    return new Promise<void>((resolve) => (this.#taken = resolve));
  }

  readonly end = (): void => {
    this.#ended = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.resolve({ done: true, value: undefined });
  };

  readonly fail = (error: unknown): void => {
    this.#failure = error;
    this.#failed = true;
    const waiter = this.#waiter;
    this.#waiter = undefined;
    waiter?.reject(error);
  };

  next(): Promise<IteratorResult<Uint8Array>> {
    const chunk = this.#chunk;
    if (chunk !== undefined) {
      this.#chunk = undefined;
      const taken = this.#taken;
      this.#taken = undefined;
      taken?.();
      return Promise.resolve({ done: false, value: chunk });
    }
    if (this.#failed) return Promise.reject(this.#failure as Error);
    if (this.#ended) return Promise.resolve({ done: true, value: undefined });
    return new Promise((resolve, reject) => (this.#waiter = { resolve, reject }));
  }

  return(): Promise<IteratorResult<Uint8Array>> {
    this.#ended = true;
    this.#chunk = undefined;
    this.#body.cancel();
    return Promise.resolve({ done: true, value: undefined });
  }
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
