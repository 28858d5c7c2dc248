import { abortError } from '@dl/core';

/**
 * A token bucket in Redis, kept as a theoretical arrival time (GCRA): the
 * key holds when (Redis time, ms) every byte reserved so far will have been
 * paid for at the rate. A take reserves its bytes and answers how long the
 * taker must wait before spending them; `burst` ms of reservations may run
 * ahead of the clock without a wait. The key expires once it is in the past,
 * so an idle bucket leaves nothing behind.
 * KEYS: bucket. ARGV: rate (bytes/s), burst ms, bytes.
 * Returns the wait in ms (0: spend now).
 */
export const TAKE_RATE = `
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + tonumber(t[2]) / 1000
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
tat = tat + tonumber(ARGV[3]) * 1000 / tonumber(ARGV[1])
redis.call('SET', KEYS[1], string.format('%.3f', tat), 'PX', math.ceil(tat - now) + 1000)
local wait = tat - tonumber(ARGV[2]) - now
if wait <= 0 then return 0 end
return math.ceil(wait)
`;

/** Smallest grant a process takes from Redis at once, whatever the rate. */
const MIN_GRANT = 65_536;
/** A grant is this long at the cap (and a bucket may run this far ahead of the clock). */
const GRANT_MS = 100;
/** Per-origin buckets kept in a process before idle ones are dropped. */
const MAX_HOST_BUCKETS = 256;

interface Waiter {
  readonly ticket: number;
  readonly resolve: () => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal;
  readonly onAbort: () => void;
}

/**
 * One fleet-wide bucket as one process sees it: bytes this process read
 * (`debited`) and bytes the fleet granted it (`credited`). A read that
 * leaves `debited` above `credited` waits until grants cover it; waiters
 * are served in the order they read (a ticket is `debited` after the read).
 */
class Tokens {
  debited = 0;
  credited = 0;
  readonly waiters: Waiter[] = [];
  filling = false;
  readonly grant: number;
  readonly burstMs: number;

  constructor(
    readonly key: string,
    readonly rate: number,
  ) {
    this.grant = Math.max(MIN_GRANT, Math.ceil((rate * GRANT_MS) / 1000));
    this.burstMs = (this.grant * 1000) / rate;
  }

  get idle(): boolean {
    return !this.filling && this.waiters.length === 0;
  }
}

export interface FleetRateOptions {
  readonly prefix: string;
  readonly rate: number | undefined;
  readonly ratePerHost: number | undefined;
  /** Runs {@link TAKE_RATE}; waits out Redis trouble (may reject, then it is retried). */
  readonly take: (key: string, rate: number, burstMs: number, bytes: number) => Promise<number>;
  /** Sleep between tries after Redis trouble. */
  readonly retryMs: () => number;
  readonly trouble: (error: unknown) => void;
}

/**
 * Bandwidth caps shared by a fleet: `rate` for all its transfers together,
 * `ratePerHost` per origin. Each process takes tokens from Redis in grants
 * (100 ms of the cap, at least 64 KiB) and spends them locally, so a chunk
 * costs a Redis call only when the process's grant is spent.
 */
export class FleetRate {
  readonly #options: FleetRateOptions;
  readonly #total: Tokens | undefined;
  readonly #hosts = new Map<string, Tokens>();
  readonly #timers = new Set<NodeJS.Timeout>();
  #closed = false;
  /** Calls to Redis so far, for the tests and diagnostics. */
  calls = 0;

  constructor(options: FleetRateOptions) {
    this.#options = options;
    this.#total =
      options.rate === undefined ? undefined : new Tokens(`${options.prefix}:rate`, options.rate);
  }

  get enabled(): boolean {
    return this.#total !== undefined || this.#options.ratePerHost !== undefined;
  }

  takeBytes(origin: string, bytes: number, signal: AbortSignal): Promise<void> | undefined {
    if (this.#closed || bytes <= 0) return undefined;
    const total = this.#total;
    const host = this.#hostTokens(origin);
    const waits: Promise<void>[] = [];
    for (const tokens of [total, host]) {
      if (tokens === undefined) continue;
      tokens.debited += bytes;
      if (tokens.debited > tokens.credited) waits.push(this.#wait(tokens, signal));
    }
    if (waits.length === 0) return undefined;
    return waits.length === 1 ? waits[0] : Promise.all(waits).then(() => undefined);
  }

  /** Lets every waiter go and stops asking Redis. */
  close(): void {
    this.#closed = true;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    for (const tokens of [this.#total, ...this.#hosts.values()]) {
      if (tokens === undefined) continue;
      for (const waiter of tokens.waiters.splice(0)) {
        waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.resolve();
      }
    }
    this.#hosts.clear();
  }

  #hostTokens(origin: string): Tokens | undefined {
    const rate = this.#options.ratePerHost;
    if (rate === undefined) return undefined;
    let tokens = this.#hosts.get(origin);
    if (tokens === undefined) {
      if (this.#hosts.size >= MAX_HOST_BUCKETS) {
        // What an idle origin had left is given up: the fleet runs a little under its cap.
        for (const [key, old] of this.#hosts) if (old.idle) this.#hosts.delete(key);
      }
      tokens = new Tokens(`${this.#options.prefix}:rate:${origin}`, rate);
      this.#hosts.set(origin, tokens);
    }
    return tokens;
  }

  #wait(tokens: Tokens, signal: AbortSignal): Promise<void> {
    if (signal.aborted) return Promise.reject(abortError(signal.reason));
    const promise = new Promise<void>((resolve, reject) => {
      const waiter: Waiter = {
        ticket: tokens.debited,
        resolve,
        reject,
        signal,
        onAbort: () => {
          const index = tokens.waiters.indexOf(waiter);
          if (index >= 0) tokens.waiters.splice(index, 1);
          // Its bytes were read: the debt stays and is paid by the next grants.
          reject(abortError(signal.reason));
        },
      };
      signal.addEventListener('abort', waiter.onAbort, { once: true });
      tokens.waiters.push(waiter);
    });
    void this.#fill(tokens);
    return promise;
  }

  /** Takes grants from Redis, one at a time, until this process's reads are paid for. */
  async #fill(tokens: Tokens): Promise<void> {
    if (tokens.filling) return;
    tokens.filling = true;
    try {
      while (!this.#closed && tokens.debited > tokens.credited) {
        let wait: number;
        try {
          this.calls++;
          wait = await this.#options.take(tokens.key, tokens.rate, tokens.burstMs, tokens.grant);
        } catch (error) {
          // Redis trouble: reads stay paused, and the grant is asked for again.
          this.#options.trouble(error);
          await this.#sleep(this.#options.retryMs());
          continue;
        }
        if (wait > 0) await this.#sleep(wait);
        tokens.credited += tokens.grant;
        while (tokens.waiters.length > 0 && tokens.waiters[0]!.ticket <= tokens.credited) {
          const waiter = tokens.waiters.shift()!;
          waiter.signal.removeEventListener('abort', waiter.onAbort);
          waiter.resolve();
        }
      }
    } finally {
      tokens.filling = false;
    }
  }

  #sleep(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#timers.delete(timer);
        resolve();
      }, ms);
      this.#timers.add(timer);
    });
  }
}
