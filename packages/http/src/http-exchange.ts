import type { Dispatcher } from 'undici';

/** Where an exchange delivers its body, once attached. */
export interface ExchangeReader {
  /** A chunk; a promise means busy: no chunk comes until it settles, a rejection fails the body. */
  data(chunk: Buffer): void | Promise<unknown>;
  /** The body ended; no call follows. */
  end(): void;
  /** The body failed (network error, abort, or `refused`: the reader's own rejection); no call follows. */
  fail(error: unknown, refused?: boolean): void;
}

/**
 * Bytes held while the reader is busy (or not attached yet) before the
 * parser is paused, when pausing is safe: about what undici's own `Readable`
 * body holds.
 */
const HIGH_WATER = 64 * 1024;
/**
 * The same where pausing is not safe. undici 7's HTTP/1 parser asserts
 * (an uncatchable `AssertionError` from the socket's 'end' handler,
 * nodejs/undici#5360) when a response that does not keep its connection
 * (`Connection: close`, HTTP/1.0, a body delimited by the close) is paused
 * and the server closes: such a body is held in memory up to this bound
 * instead, and only a consumer that stays busy past it is paused.
 */
const UNSAFE_HIGH_WATER = 1024 * 1024;
const NO_HEADERS: Record<string, string | string[]> = Object.freeze({}) as Record<
  string,
  string | string[]
>;

/**
 * One request sent with `Dispatcher.dispatch()`: an undici 7 handler object
 * that resolves {@link started} at the final response's headers and then
 * hands the body to one attached {@link ExchangeReader} as undici delivers
 * it. Chunks that arrive while the reader is busy (or before it attaches)
 * are held; past a bound the parser is paused, so the socket backs up, and
 * resumed once the reader caught up. No `Readable`, and no promise per chunk.
 *
 * Aborting `signal` (or {@link abort}) stops the request and frees its
 * connection (undici closes a connection whose body was not read to the end).
 */
export class HttpExchange implements Dispatcher.DispatchHandler {
  /** The final status; 0 until {@link started} resolved. */
  statusCode = 0;
  /** The final response's headers, names in lowercase. */
  headers: Record<string, string | string[]> = NO_HEADERS;
  /** Resolves at the final response's headers, rejects when the request failed before them. */
  readonly started: Promise<HttpExchange>;
  #resolve!: (exchange: HttpExchange) => void;
  #reject!: (error: unknown) => void;
  readonly #signal: AbortSignal;
  #controller: Dispatcher.DispatchController | undefined;
  #reader: ExchangeReader | undefined;
  #queue: Buffer[] | undefined;
  #queued = 0;
  #highWater = HIGH_WATER;
  #busy = false;
  #paused = false;
  /** The source delivered its last byte. */
  #ended = false;
  /** The source failed before a reader was attached. */
  #failure: unknown;
  #failed = false;
  /** The reader was told the end or a failure, or the exchange was abandoned: nothing more is delivered. */
  #closed = false;
  /** An abort asked for before undici handed over its controller. */
  #abortReason: unknown;
  #abortAsked = false;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    this.started = new Promise<HttpExchange>((resolve, reject) => {
      this.#resolve = resolve;
      this.#reject = reject;
    });
    if (signal.aborted) this.abort(signal.reason);
    else signal.addEventListener('abort', this);
  }

  /** The signal's abort: the exchange is its own listener, so it costs no closure. */
  handleEvent(): void {
    this.abort(this.#signal.reason);
  }

  /** Starts delivering the body to `reader` (held chunks first). Once per exchange. */
  attach(reader: ExchangeReader): void {
    this.#reader = reader;
    if (this.#closed) {
      reader.fail(this.#abortReason);
      return;
    }
    if (this.#failed) {
      this.#close();
      reader.fail(this.#failure);
      return;
    }
    this.#drain();
  }

  /**
   * Reads what is left of a body we do not want, so its connection can be
   * reused; past `limit` bytes the request is aborted instead (which closes
   * the connection). Rejects only when the exchange's signal aborted.
   */
  dump(limit: number): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      let read = 0;
      this.attach({
        data: (chunk) => {
          read += chunk.byteLength;
          if (read <= limit) return;
          this.abort(DUMPED);
          resolve();
        },
        end: resolve,
        fail: (error) => (this.#signal.aborted ? reject(error as Error) : resolve()),
      });
    });
  }

  /** Stops the request; an attached reader that was not told the end yet gets `fail(reason)`. */
  abort(reason: unknown, refused = false): void {
    if (this.#closed) return;
    this.#close();
    this.#abortReason = reason;
    this.#queue = undefined;
    this.#queued = 0;
    if (this.statusCode === 0) this.#reject(reason);
    if (this.#controller !== undefined) this.#controller.abort(reason as Error);
    else this.#abortAsked = true;
    this.#reader?.fail(reason, refused);
  }

  onRequestStart(controller: Dispatcher.DispatchController): void {
    this.#controller = controller;
    if (this.#abortAsked) controller.abort(this.#abortReason as Error);
  }

  onResponseStart(
    controller: Dispatcher.DispatchController,
    statusCode: number,
    headers: Record<string, string | string[] | undefined>,
  ): void {
    // 1xx informational answers come before the final one.
    if (statusCode < 200 || this.#closed) return;
    this.#controller = controller;
    this.statusCode = statusCode;
    this.headers = headers as Record<string, string | string[]>;
    if (!keepsConnection(this.headers)) this.#highWater = UNSAFE_HIGH_WATER;
    this.#resolve(this);
  }

  onResponseData(controller: Dispatcher.DispatchController, chunk: Buffer): void {
    if (this.#closed) return;
    if (this.#reader !== undefined && !this.#busy && this.#queued === 0) {
      this.#deliver(chunk);
      return;
    }
    (this.#queue ??= []).push(chunk);
    this.#queued += chunk.byteLength;
    if (this.#queued >= this.#highWater && !this.#paused) {
      this.#paused = true;
      controller.pause();
    }
  }

  onResponseEnd(): void {
    this.#ended = true;
    if (this.#closed) return;
    if (this.#reader !== undefined && !this.#busy && this.#queued === 0) this.#end();
  }

  onResponseError(_controller: Dispatcher.DispatchController | null, error: Error): void {
    if (this.statusCode === 0) {
      this.#close();
      this.#reject(error);
      return;
    }
    if (this.#closed) return;
    this.#queue = undefined;
    this.#queued = 0;
    const reader = this.#reader;
    if (reader === undefined) {
      this.#failure = error;
      this.#failed = true;
      return;
    }
    this.#close();
    reader.fail(error);
  }

  #deliver(chunk: Buffer): void {
    let busy: void | Promise<unknown>;
    try {
      busy = this.#reader!.data(chunk);
    } catch (error) {
      // Never into undici's parser: a reader that throws fails its body.
      this.abort(error, true);
      return;
    }
    if (busy === undefined) return;
    this.#busy = true;
    busy.then(this.#drain, this.#refused);
  }

  /** Hands over held chunks while the reader takes them, then resumes the parser or ends. */
  readonly #drain = (): void => {
    this.#busy = false;
    const queue = this.#queue;
    if (queue !== undefined && queue.length > 0 && !this.#closed) {
      // What piled up goes on as one chunk, as a Readable's read() hands it: a reader that
      // takes one chunk at a time (the streamer's channel) is not slowed to undici's chunk size.
      const chunk = queue.length === 1 ? queue[0]! : Buffer.concat(queue, this.#queued);
      this.#queue = undefined;
      this.#queued = 0;
      this.#deliver(chunk);
    }
    if (this.#busy || this.#closed) return;
    if (this.#ended) {
      this.#end();
      return;
    }
    if (this.#paused) {
      this.#paused = false;
      this.#controller!.resume();
    }
  };

  /** The reader's rejection: the body fails with it, and the request stops. */
  readonly #refused = (error: unknown): void => {
    this.#busy = false;
    if (this.#closed) return;
    this.abort(error, true);
  };

  #end(): void {
    this.#close();
    this.#reader!.end();
  }

  #close(): void {
    this.#closed = true;
    this.#signal.removeEventListener('abort', this);
  }
}

/** Why a body we did not want was cut short. */
const DUMPED = new Error('The body was not wanted');

/**
 * Whether undici's parser keeps the connection after this response (its
 * `shouldKeepAlive`): HTTP/1.1 keep-alive is assumed only when the server
 * says `Connection: keep-alive` (nginx and Node do), and a body delimited
 * by the close never keeps it. An HTTP/2 response, which has no
 * `Connection` header, counts as not keeping it: the bound is only larger.
 */
function keepsConnection(headers: Record<string, string | string[]>): boolean {
  const connection = headers.connection;
  if (typeof connection !== 'string' || !/keep-alive/i.test(connection)) return false;
  return headers['content-length'] !== undefined || headers['transfer-encoding'] !== undefined;
}
