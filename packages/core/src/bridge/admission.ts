import { STATUS_CODES } from 'node:http';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { ResponseWriter } from './response-writer.js';
import type { StreamOutcome, StreamSource } from './streamer-options.js';

/** Gives an upstream slot back. Idempotent. */
export type Ticket = () => void;

/** Why a request got no upstream slot: the queue was full, or it waited past the queue time. */
export type Refusal = 'full' | 'timeout';

interface Queued {
  readonly resolve: (answer: Ticket | Refusal | undefined) => void;
  readonly timer: ReturnType<typeof setTimeout>;
  off: () => void;
}

/**
 * The streamer's admission: at most `limit` upstream transfers at once, at
 * most `queueLimit` requests waiting for one (first come, first served), none
 * waiting longer than `queueTimeoutMs`. A request beyond the queue, or one
 * that waited too long, is refused at once, so a burst is answered with 503
 * and `Retry-After` instead of every client timing out.
 */
export class Admission {
  #running = 0;
  readonly #queue: Queued[] = [];

  constructor(
    readonly limit: number,
    readonly queueLimit: number,
    readonly queueTimeoutMs: number,
  ) {}

  /** Upstream transfers admitted now. */
  get running(): number {
    return this.#running;
  }

  /** Requests waiting for an upstream slot now. */
  get queued(): number {
    return this.#queue.length;
  }

  /**
   * A slot, a refusal, or `undefined` when the client went away while
   * waiting (`onGone` fired).
   */
  enter(onGone: (listener: () => void) => () => void): Promise<Ticket | Refusal | undefined> {
    if (this.#running < this.limit) return Promise.resolve(this.#ticket());
    if (this.#queue.length >= this.queueLimit) return Promise.resolve('full');
    return new Promise((resolve) => {
      const leave = (answer: Refusal | undefined) => {
        const index = this.#queue.indexOf(entry);
        if (index >= 0) this.#queue.splice(index, 1);
        clearTimeout(entry.timer);
        entry.off();
        resolve(answer);
      };
      const entry: Queued = {
        resolve,
        timer: setTimeout(() => leave('timeout'), this.queueTimeoutMs),
        off: () => {},
      };
      this.#queue.push(entry);
      // Called at once when the client is already gone.
      entry.off = onGone(() => leave(undefined));
    });
  }

  #ticket(): Ticket {
    this.#running++;
    let released = false;
    return () => {
      if (released) return;
      released = true;
      this.#running--;
      const next = this.#queue.shift();
      if (next === undefined) return;
      clearTimeout(next.timer);
      next.off();
      next.resolve(this.#ticket());
    };
  }
}

/** Seconds a refused client is told to wait: the queue time, at least 1. */
export function retryAfterSeconds(admission: Admission): number {
  return Math.max(1, Math.ceil(admission.queueTimeoutMs / 1000));
}

/** Answers a refused request: 503 with `Retry-After` (a plain Writable is failed instead). */
export async function refuse(
  writer: ResponseWriter,
  admission: Admission,
  refusal: Refusal,
  source: StreamSource,
): Promise<StreamOutcome> {
  const error = new DownloadError(
    refusal === 'full'
      ? `Too many requests waiting for an upstream transfer (${admission.queueLimit} queued)`
      : `No upstream transfer was free within ${admission.queueTimeoutMs} ms`,
    {
      code: ErrorCodes.RemoteUnavailable,
      retryable: true,
      retryAfterMs: retryAfterSeconds(admission) * 1000,
      details: { status: 503, refusal },
    },
  );
  if (!writer.isHttp) {
    writer.fail(error);
    return { ok: false, status: undefined, bytes: 0, source, error };
  }
  const text = Buffer.from(`503 ${STATUS_CODES[503]} (busy)\n`);
  writer.start(503, {
    'content-type': 'text/plain; charset=utf-8',
    'content-length': String(text.byteLength),
    'cache-control': 'no-store',
    'retry-after': String(retryAfterSeconds(admission)),
  });
  await writer.write(text);
  await writer.end();
  return { ok: false, status: 503, bytes: 0, source, error };
}
