import { setMaxListeners } from 'node:events';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { DownloadOutcome, DownloadResult } from '../contracts/download-result.js';
import type { DownloadAllOptions } from '../contracts/downloader-factory.js';
import { abortError, DownloadError, toDownloadError } from '../errors/download-error.js';
import { fanOutAborts } from '../util/abort-fanout.js';
import { linkedAbort, type LinkedAbort } from '../util/linked-abort.js';
import type { AdmissionBudget, Permit } from '../contracts/admission-budget.js';

/** A request the scheduler can place: its parsed URL and the origin it counts against. */
export interface PlacedRequest {
  readonly url: URL;
  readonly origin: string;
}

/** What the scheduler drives: one download, started with the permit it was admitted with. */
export interface SchedulerRunner {
  /** Parses and checks a request; throws a `DownloadError` for one that can never run. */
  place(request: DownloadRequest<unknown>): PlacedRequest;
  /** Runs one download to its end. */
  run<C>(
    request: DownloadRequest<C>,
    placed: PlacedRequest,
    permit: Permit,
    signal: AbortSignal,
  ): Promise<DownloadResult<C>>;
}

/**
 * Admission control for batches: pulls requests lazily from any iterable as
 * slots free up (never more than `lookAhead` waiting), starts each one only
 * when its budget grants a permit, and yields outcomes in completion order.
 * Memory is bounded by the limits, not by the number of requests.
 *
 * A budget that can answer at once (`tryAcquire`, the in-process limiter) is
 * asked synchronously, with no promise per request; any other is asked with
 * `acquire` for every waiting request, and its own queue decides the order.
 */
export class Scheduler {
  constructor(
    private readonly limiter: AdmissionBudget,
    private readonly runner: SchedulerRunner,
  ) {}

  /** Runs a batch; see `DownloaderFactory.downloadAll`. */
  run<C>(
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    options: DownloadAllOptions = {},
    owner?: AbortSignal,
  ): AsyncIterableIterator<DownloadOutcome<C>> {
    return new Batch(this.limiter, this.runner, requests, options, owner);
  }
}

interface Waiting<C> {
  readonly request: DownloadRequest<C>;
  readonly placed: PlacedRequest;
  /** Its permit was asked for (budgets without `tryAcquire`). */
  asked?: boolean;
}

class Batch<C> implements AsyncIterableIterator<DownloadOutcome<C>> {
  readonly #source: Iterator<DownloadRequest<C>> | AsyncIterator<DownloadRequest<C>>;
  readonly #lookAhead: number;
  readonly #failFast: boolean;
  readonly #abort: LinkedAbort;
  readonly #waiting: Waiting<C>[] = [];
  readonly #outcomes: DownloadOutcome<C>[] = [];
  readonly #running = new Set<Promise<void>>();
  readonly #unsubscribe: () => void;
  #sourceDone = false;
  #pulling = false;
  #fatal: DownloadError | undefined;
  #wake: (() => void) | undefined;
  #closed: Promise<void> | undefined;

  constructor(
    private readonly limiter: AdmissionBudget,
    private readonly runner: SchedulerRunner,
    requests: Iterable<DownloadRequest<C>> | AsyncIterable<DownloadRequest<C>>,
    options: DownloadAllOptions,
    owner: AbortSignal | undefined,
  ) {
    this.#source =
      Symbol.asyncIterator in requests
        ? (requests as AsyncIterable<DownloadRequest<C>>)[Symbol.asyncIterator]()
        : (requests as Iterable<DownloadRequest<C>>)[Symbol.iterator]();
    this.#lookAhead = options.lookAhead ?? Math.max(64, limiter.total * 4);
    this.#failFast = options.failFast ?? false;
    this.#abort = linkedAbort(options.signal, owner);
    // One listener per download in flight, by design.
    setMaxListeners(0, this.#abort.signal);
    this.#abort.signal.addEventListener('abort', () => this.#notify(), { once: true });
    // Lives as long as the batch: each attempt's listener on it goes into one set.
    fanOutAborts(this.#abort.signal);
    this.#unsubscribe = limiter.onRelease(() => this.#pump());
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  async next(): Promise<IteratorResult<DownloadOutcome<C>>> {
    for (;;) {
      if (this.#abort.signal.aborted && this.#fatal === undefined) {
        this.#fatal = abortError(this.#abort.signal.reason);
      }
      if (this.#fatal !== undefined) {
        await this.#shutdown();
        throw this.#fatal;
      }
      this.#pump();
      const outcome = this.#outcomes.shift();
      if (outcome !== undefined) {
        this.#pump();
        return { done: false, value: outcome };
      }
      if (
        this.#sourceDone &&
        this.#waiting.length === 0 &&
        this.#running.size === 0 &&
        !this.#pulling
      ) {
        await this.#shutdown();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  async return(): Promise<IteratorResult<DownloadOutcome<C>>> {
    await this.#shutdown();
    return { done: true, value: undefined };
  }

  async throw(error?: unknown): Promise<IteratorResult<DownloadOutcome<C>>> {
    await this.#shutdown();
    throw error;
  }

  /** Aborts whatever runs, waits until every download cleaned up, closes the source. */
  #shutdown(): Promise<void> {
    this.#closed ??= (async () => {
      this.#unsubscribe();
      this.#abort.abort(abortError());
      this.#waiting.length = 0;
      while (this.#running.size > 0) await Promise.allSettled([...this.#running]);
      this.#outcomes.length = 0;
      this.#abort.dispose();
      if (!this.#sourceDone) {
        this.#sourceDone = true;
        await Promise.resolve(this.#source.return?.()).catch(() => {});
      }
    })();
    return this.#closed;
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = undefined;
    wake?.();
  }

  #pump(): void {
    if (this.#closed !== undefined || this.#abort.signal.aborted) return;
    if (this.limiter.tryAcquire === undefined) {
      this.#ask();
      this.#pull();
      return;
    }
    for (let i = 0; i < this.#waiting.length && this.#outstanding() < this.limiter.total;) {
      const next = this.#waiting[i]!;
      const permit = this.limiter.tryAcquire(next.placed.origin);
      if (permit === undefined) {
        if (this.limiter.active >= this.limiter.total) break;
        i++;
        continue;
      }
      this.#waiting.splice(i, 1);
      this.#start(next, permit);
    }
    this.#pull();
  }

  /** Downloads waiting in backoff hold no permit, so the limiter alone would
   * let them pile up; the running cap keeps memory bounded regardless. */
  #outstanding(): number {
    return Math.max(this.#outcomes.length, this.#running.size - this.limiter.total * 3);
  }

  #pull(): void {
    while (
      !this.#sourceDone &&
      !this.#pulling &&
      this.#waiting.length < this.#lookAhead &&
      this.#outstanding() < this.limiter.total
    ) {
      let step: IteratorResult<DownloadRequest<C>> | Promise<IteratorResult<DownloadRequest<C>>>;
      try {
        step = this.#source.next();
      } catch (error) {
        this.#sourceFailed(error);
        return;
      }
      if (step instanceof Promise) {
        this.#pulling = true;
        step.then(
          (result) => {
            this.#pulling = false;
            this.#take(result);
            this.#pump();
            this.#notify();
          },
          (error: unknown) => {
            this.#pulling = false;
            this.#sourceFailed(error);
          },
        );
        return;
      }
      this.#take(step);
      // A request that found a free slot starts now, before we read further ahead.
      const last = this.#waiting.at(-1);
      if (last === undefined) continue;
      if (this.limiter.tryAcquire === undefined) {
        this.#ask();
      } else {
        const permit = this.limiter.tryAcquire(last.placed.origin);
        if (permit !== undefined) {
          this.#waiting.pop();
          this.#start(last, permit);
        }
      }
    }
  }

  /** Asks an asynchronous budget for a permit for every waiting request not yet asked for. */
  #ask(): void {
    for (const next of this.#waiting) {
      if (next.asked) continue;
      next.asked = true;
      this.limiter.acquire(next.placed.origin, this.#abort.signal).then(
        (permit) => {
          this.#unwait(next);
          if (this.#closed !== undefined || this.#abort.signal.aborted) permit.release();
          else this.#start(next, permit);
        },
        (error: unknown) => {
          this.#unwait(next);
          if (!this.#abort.signal.aborted)
            this.#settle(next.request, undefined, toDownloadError(error));
        },
      );
    }
  }

  #unwait(waiting: Waiting<C>): void {
    const index = this.#waiting.indexOf(waiting);
    if (index >= 0) this.#waiting.splice(index, 1);
  }

  #take(step: IteratorResult<DownloadRequest<C>>): void {
    if (step.done) {
      this.#sourceDone = true;
      return;
    }
    const request = step.value;
    try {
      this.#waiting.push({ request, placed: this.runner.place(request) });
    } catch (error) {
      this.#settle(request, undefined, toDownloadError(error));
    }
  }

  #start(waiting: Waiting<C>, permit: Permit): void {
    const { request, placed } = waiting;
    const running: Promise<void> = this.runner
      .run(request, placed, permit, this.#abort.signal)
      .then(
        (result) => this.#finish(running, request, result, undefined),
        (error: unknown) => this.#finish(running, request, undefined, error, true),
      );
    this.#running.add(running);
  }

  /** One handler pair instead of then().finally(): a promise fewer per download. */
  #finish(
    running: Promise<void>,
    request: DownloadRequest<C>,
    result: DownloadResult<C> | undefined,
    error: unknown,
    failed = false,
  ): void {
    try {
      this.#settle(request, result, failed ? toDownloadError(error) : undefined);
    } finally {
      this.#running.delete(running);
      this.#pump();
      this.#notify();
    }
  }

  #settle(
    request: DownloadRequest<C>,
    result: DownloadResult<C> | undefined,
    error: DownloadError | undefined,
  ): void {
    if (this.#closed !== undefined) return;
    const context = request.context as C;
    if (error === undefined) {
      this.#outcomes.push({ ok: true, context, request, result: result! });
    } else {
      if (this.#abort.signal.aborted) return;
      if (this.#failFast && this.#fatal === undefined) {
        this.#fatal = error;
        this.#abort.abort(error);
      }
      this.#outcomes.push({ ok: false, context, request, error });
    }
    this.#notify();
  }

  #sourceFailed(error: unknown): void {
    this.#sourceDone = true;
    this.#fatal ??= toDownloadError(error);
    this.#notify();
  }
}
