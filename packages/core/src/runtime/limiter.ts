import type {
  AdmissionBudget,
  BudgetInit,
  BudgetProvider,
  Permit,
} from '../contracts/admission-budget.js';
import { abortError } from '../errors/download-error.js';

interface Waiter {
  origin: string;
  resolve(permit: Permit): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** The default {@link BudgetProvider}: an in-process {@link Limiter}. */
export const localBudget: BudgetProvider = (init) => new Limiter(init);

/**
 * The in-process {@link AdmissionBudget}: counts transfers in flight, in
 * total and per origin, and hands out permits in FIFO order, synchronously
 * when a slot is free. Per-origin state exists only while an origin has
 * transfers or waiters, so memory does not grow with the number of hosts
 * ever seen.
 */
export class Limiter implements AdmissionBudget {
  #active = 0;
  readonly #perOrigin = new Map<string, number>();
  readonly #waiters: Waiter[] = [];
  readonly #listeners = new Set<() => void>();
  readonly total: number;
  readonly perHost: number;
  readonly #limitFor: (origin: string) => number;

  constructor(init: BudgetInit) {
    this.total = init.total;
    this.perHost = init.perHost;
    this.#limitFor = init.limitFor;
  }

  get active(): number {
    return this.#active;
  }

  /** True when a transfer to `origin` could start now without waiting. */
  canStart(origin: string): boolean {
    return this.#waiters.length === 0 && this.#fits(origin);
  }

  /** A permit now, or undefined when it would have to wait. */
  tryAcquire(origin: string): Permit | undefined {
    return this.canStart(origin) ? this.#grant(origin) : undefined;
  }

  /** A permit, waiting in line when the limits are reached. */
  acquire(origin: string, signal?: AbortSignal): Promise<Permit> {
    const now = this.tryAcquire(origin);
    if (now) return Promise.resolve(now);
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { origin, resolve, reject, signal, onAbort: undefined };
      if (signal) {
        waiter.onAbort = () => {
          const index = this.#waiters.indexOf(waiter);
          if (index >= 0) this.#waiters.splice(index, 1);
          reject(abortError(signal.reason));
          this.#drain();
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      this.#waiters.push(waiter);
    });
  }

  /** Calls `listener` whenever a permit is released. Returns an unsubscribe function. */
  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #fits(origin: string): boolean {
    return this.#active < this.total && (this.#perOrigin.get(origin) ?? 0) < this.#limitFor(origin);
  }

  #grant(origin: string): Permit {
    this.#active++;
    this.#perOrigin.set(origin, (this.#perOrigin.get(origin) ?? 0) + 1);
    let released = false;
    return {
      origin,
      release: () => {
        if (released) return;
        released = true;
        this.#active--;
        const left = (this.#perOrigin.get(origin) ?? 1) - 1;
        if (left === 0) this.#perOrigin.delete(origin);
        else this.#perOrigin.set(origin, left);
        this.#drain();
        for (const listener of this.#listeners) listener();
      },
    };
  }

  /** Serves waiters in order; one waiting for a full origin does not block others behind it. */
  #drain(): void {
    for (let i = 0; i < this.#waiters.length && this.#active < this.total;) {
      const waiter = this.#waiters[i]!;
      if (!this.#fits(waiter.origin)) {
        i++;
        continue;
      }
      this.#waiters.splice(i, 1);
      if (waiter.signal && waiter.onAbort)
        waiter.signal.removeEventListener('abort', waiter.onAbort);
      waiter.resolve(this.#grant(waiter.origin));
    }
  }
}
