import type {
  AdmissionBudget,
  BudgetInit,
  BudgetProvider,
  HostSignal,
  HostThrottle,
  Permit,
} from '../contracts/admission-budget.js';
import { abortError } from '../errors/download-error.js';
import { sleep } from './backoff.js';

interface Waiter {
  origin: string;
  resolve(permit: Permit): void;
  reject(error: unknown): void;
  signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
}

/** How the in-process limiter treats hosts that ask for less load. Every field is optional. */
export interface LimiterTuning {
  /** Ceiling of the first pause of a host that gave no hint; it doubles per signal (full jitter). @default 1000 */
  readonly basePauseMs?: number;
  /** Largest pause without a hint. @default 60000 */
  readonly maxPauseMs?: number;
  /** Longest host hint (Retry-After) honoured. @default 600000 */
  readonly maxHintMs?: number;
  /**
   * A quiet period: time without a signal after which a lowered limit climbs
   * one step, and after which the exponential pause starts again from its base.
   * @default 5000
   */
  readonly quietMs?: number;
  /** Refused or reset connections within `refusalWindowMs` that count as a signal. @default 3 */
  readonly refusalBurst?: number;
  /** @default 5000 */
  readonly refusalWindowMs?: number;
  /** Uniform in [0, 1), for the jitter. @default Math.random */
  readonly random?: () => number;
}

/** One origin the limiter is being gentle with. */
interface HostState {
  readonly origin: string;
  /** Effective limit, ≤ the configured one. */
  limit: number;
  paused: boolean;
  pausedUntil: number;
  reason: string;
  /** Pauses without a hint in a row, for the exponential pause. */
  strikes: number;
  lastSignal: number;
  /** Last time the limit moved or a pause ended: the quiet period counts from here. */
  lastStep: number;
  timer: ReturnType<typeof setTimeout> | undefined;
}

/** A token bucket kept as a theoretical arrival time (GCRA): no timer, no allocation per take. */
class Pace {
  /** When the bytes reserved so far will have been paid for at `rate`. */
  #tat = 0;
  readonly #msPerByte: number;
  /** What may run ahead of the rate: 100 ms worth, at least 64 KiB. */
  readonly #burstMs: number;

  constructor(rate: number) {
    this.#msPerByte = 1000 / rate;
    this.#burstMs = Math.max(65_536, rate / 10) * this.#msPerByte;
  }

  /** Reserves `bytes` and returns how long (ms) the reader should wait before reading more. */
  take(bytes: number, now: number): number {
    this.#tat = Math.max(this.#tat, now) + bytes * this.#msPerByte;
    return this.#tat - this.#burstMs - now;
  }

  idle(now: number): boolean {
    return this.#tat <= now;
  }
}

/** The default {@link BudgetProvider}: an in-process {@link Limiter}. */
export const localBudget: BudgetProvider = (init) => new Limiter(init);

/**
 * The in-process {@link AdmissionBudget}: counts transfers in flight, in
 * total and per origin (up to `limitFor(origin)` connections times
 * `transfersPerConnection(origin)`), and hands out permits in FIFO order,
 * synchronously when a slot is free. Per-origin state exists only while an origin has
 * transfers or waiters, or is being throttled, so memory does not grow with
 * the number of hosts ever seen.
 *
 * Politeness: a host signal (HTTP 429/503, FTP 421, a burst of refused
 * connections) pauses new transfers to that origin until its hint expires
 * (or an exponential pause with full jitter without one) and halves the
 * origin's limit (at most once per pause, never below 1); the limit climbs
 * back one step per quiet period. Bandwidth caps (`rate`, `ratePerHost`)
 * are token buckets that readers pay into after each chunk.
 *
 * It has no `connections`: in one process each adapter's per-host
 * connection cap already bounds the connections a host sees, and the
 * adapters keep their own idle timeouts.
 */
export class Limiter implements AdmissionBudget {
  #active = 0;
  readonly #perOrigin = new Map<string, number>();
  readonly #waiters: Waiter[] = [];
  readonly #listeners = new Set<() => void>();
  readonly #hosts = new Map<string, HostState>();
  readonly #refusals = new Map<string, number[]>();
  readonly #pace: Pace | undefined;
  readonly #hostPaces = new Map<string, Pace>();
  readonly #ratePerHost: number | undefined;
  readonly #init: BudgetInit;
  readonly #basePauseMs: number;
  readonly #maxPauseMs: number;
  readonly #maxHintMs: number;
  readonly #quietMs: number;
  readonly #refusalBurst: number;
  readonly #refusalWindowMs: number;
  readonly #random: () => number;
  readonly total: number;
  readonly perHost: number;
  readonly #limitFor: (origin: string) => number;

  constructor(init: BudgetInit, tuning: LimiterTuning = {}) {
    this.#init = init;
    this.total = init.total;
    this.perHost = init.perHost;
    const perConnection = init.transfersPerConnection?.bind(init);
    // Per-host limits count connections; a multiplexed connection (HTTP/2) carries several transfers.
    this.#limitFor =
      perConnection === undefined
        ? init.limitFor
        : (origin) => init.limitFor(origin) * Math.max(1, perConnection(origin));
    this.#pace = init.rate === undefined ? undefined : new Pace(init.rate);
    this.#ratePerHost = init.ratePerHost;
    this.#basePauseMs = tuning.basePauseMs ?? 1000;
    this.#maxPauseMs = tuning.maxPauseMs ?? 60_000;
    this.#maxHintMs = tuning.maxHintMs ?? 600_000;
    this.#quietMs = tuning.quietMs ?? 5000;
    this.#refusalBurst = tuning.refusalBurst ?? 3;
    this.#refusalWindowMs = tuning.refusalWindowMs ?? 5000;
    this.#random = tuning.random ?? Math.random;
  }

  get active(): number {
    return this.#active;
  }

  /** True when a transfer to `origin` could start now without waiting. */
  canStart(origin: string): boolean {
    return this.#fits(origin) && (this.#waiters.length === 0 || !this.#queued(origin));
  }

  /** A permit now, or undefined when it would have to wait. */
  tryAcquire(origin: string): Permit | undefined {
    return this.canStart(origin) ? this.#grant(origin) : undefined;
  }

  /** A permit, waiting in line when the limits are reached or the origin is paused. */
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

  /** Calls `listener` whenever a permit is released or capacity came back. Returns an unsubscribe function. */
  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Pauses `origin` and lowers its limit; see the class description. */
  hostSignal(origin: string, signal: HostSignal): void {
    const now = Date.now();
    let reason = signal.reason;
    if (signal.kind === 'refused') {
      const burst = this.#refused(origin, now);
      if (burst === 0) return;
      reason = `${signal.reason} ×${burst}`;
    }
    const configured = this.#limitFor(origin);
    let host = this.#hosts.get(origin);
    if (host === undefined) {
      host = {
        origin,
        limit: configured,
        paused: false,
        pausedUntil: 0,
        reason,
        strikes: 0,
        lastSignal: now,
        lastStep: now,
        timer: undefined,
      };
      this.#hosts.set(origin, host);
    }
    if (now - host.lastSignal > this.#quietMs) host.strikes = 0;
    const hinted = signal.retryAfterMs !== undefined;
    const pauseMs = hinted
      ? Math.min(this.#maxHintMs, Math.max(0, signal.retryAfterMs!))
      : Math.round(
          this.#random() * Math.min(this.#maxPauseMs, this.#basePauseMs * 2 ** host.strikes++),
        );
    // Multiplicative decrease, once per pause: the signals of one burst are one signal.
    if (!host.paused) host.limit = Math.max(1, Math.floor(Math.min(host.limit, configured) / 2));
    host.pausedUntil = Math.max(host.paused ? host.pausedUntil : 0, now + pauseMs);
    host.paused = host.pausedUntil > now;
    host.reason = reason;
    host.lastSignal = now;
    host.lastStep = now;
    this.#schedule(host);
    this.#init.report?.('host-throttled', {
      ...this.#describe(host, configured),
      pauseMs,
      hinted,
    });
  }

  /** The origins paused or under a lowered limit now. */
  throttledHosts(): readonly HostThrottle[] {
    const out: HostThrottle[] = [];
    for (const host of this.#hosts.values()) {
      const configured = this.#limitFor(host.origin);
      if (host.paused || host.limit < configured) out.push(this.#describe(host, configured));
    }
    return out;
  }

  /** Pays for `bytes` read from `origin`; a promise when the caps say wait. */
  takeBytes(origin: string, bytes: number, signal: AbortSignal): Promise<void> | undefined {
    if (this.#pace === undefined && this.#ratePerHost === undefined) return undefined;
    const now = Date.now();
    let wait = this.#pace === undefined ? 0 : this.#pace.take(bytes, now);
    if (this.#ratePerHost !== undefined) {
      let pace = this.#hostPaces.get(origin);
      if (pace === undefined) {
        if (this.#hostPaces.size >= 256) {
          for (const [key, old] of this.#hostPaces) if (old.idle(now)) this.#hostPaces.delete(key);
        }
        pace = new Pace(this.#ratePerHost);
        this.#hostPaces.set(origin, pace);
      }
      wait = Math.max(wait, pace.take(bytes, now));
    }
    return wait >= 1 ? sleep(wait, signal) : undefined;
  }

  /** Ends every pause (timers included); the limiter keeps counting permits. */
  close(): Promise<void> {
    for (const host of this.#hosts.values()) clearTimeout(host.timer);
    this.#hosts.clear();
    this.#refusals.clear();
    this.#wake();
    return Promise.resolve();
  }

  #describe(host: HostState, configured: number): HostThrottle {
    const described: { -readonly [K in keyof HostThrottle]: HostThrottle[K] } = {
      origin: host.origin,
      limit: host.limit,
      configuredLimit: configured,
      reason: host.reason,
    };
    if (host.paused) described.pausedUntil = host.pausedUntil;
    return described;
  }

  /** Counts a refusal; returns the burst size once it is one, else 0. */
  #refused(origin: string, now: number): number {
    if (this.#refusals.size >= 256) {
      for (const [key, times] of this.#refusals)
        if (times.at(-1)! < now - this.#refusalWindowMs) this.#refusals.delete(key);
    }
    const times = (this.#refusals.get(origin) ?? []).filter(
      (at) => at >= now - this.#refusalWindowMs,
    );
    times.push(now);
    if (times.length < this.#refusalBurst) {
      this.#refusals.set(origin, times);
      return 0;
    }
    this.#refusals.delete(origin);
    return times.length;
  }

  /** Arms the one timer of a throttled origin for its next step. */
  #schedule(host: HostState): void {
    clearTimeout(host.timer);
    const at = host.paused
      ? host.pausedUntil
      : host.limit < this.#limitFor(host.origin)
        ? host.lastStep + this.#quietMs
        : host.lastSignal + this.#quietMs;
    host.timer = setTimeout(() => this.#step(host), Math.max(0, at - Date.now()));
    host.timer.unref();
  }

  /** A pause ends, a lowered limit climbs one step, or a quiet origin is forgotten. */
  #step(host: HostState): void {
    host.timer = undefined;
    if (this.#hosts.get(host.origin) !== host) return;
    const now = Date.now();
    const configured = this.#limitFor(host.origin);
    if (host.paused) {
      if (now < host.pausedUntil) return this.#schedule(host);
      host.paused = false;
      host.lastStep = now;
    } else if (host.limit < configured) {
      if (now - host.lastStep < this.#quietMs) return this.#schedule(host);
      host.limit++;
      host.lastStep = now;
    } else {
      // Back at full limit and quiet since: nothing left to remember (the pause escalation resets).
      if (now - host.lastSignal >= this.#quietMs) this.#hosts.delete(host.origin);
      else this.#schedule(host);
      return;
    }
    if (!host.paused && host.limit >= configured) {
      host.limit = configured;
      this.#init.report?.('host-recovered', { origin: host.origin, limit: configured });
    }
    this.#schedule(host);
    this.#wake();
  }

  #wake(): void {
    this.#drain();
    for (const listener of this.#listeners) listener();
  }

  #queued(origin: string): boolean {
    for (const waiter of this.#waiters) if (waiter.origin === origin) return true;
    return false;
  }

  #fits(origin: string): boolean {
    if (this.#active >= this.total) return false;
    const count = this.#perOrigin.get(origin) ?? 0;
    const host = this.#hosts.size === 0 ? undefined : this.#hosts.get(origin);
    if (host === undefined) return count < this.#limitFor(origin);
    return !host.paused && count < Math.min(host.limit, this.#limitFor(origin));
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
        this.#wake();
      },
    };
  }

  /** Serves waiters in order; one waiting for a full or paused origin does not block others behind it. */
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
