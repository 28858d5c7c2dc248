/**
 * One admitted transfer: a slot of the total and a slot at one origin.
 * Whoever holds it gives it back exactly once; a second `release()` does
 * nothing, so a cleanup path may call it without knowing whether another
 * already did.
 */
export interface Permit {
  /** The origin (`scheme://host:port`) the permit counts against. */
  readonly origin: string;
  /** Gives the slots back. Idempotent. */
  release(): void;
}

/**
 * What a host said about its load, reported to the budget by the download
 * that saw it, so every download of the factory (or of a fleet, when the
 * budget is shared) can be polite to that host, not only the one that saw it.
 */
export interface HostSignal {
  /**
   * `throttled`: the host asked us to slow down (HTTP 429/503, FTP 421).
   * `refused`: the connection was refused or reset before any answer.
   */
  readonly kind: 'throttled' | 'refused';
  /** The host's own hint (Retry-After), when it gave one. */
  readonly retryAfterMs?: number;
  /** Short words for operators, e.g. `HTTP 429`. */
  readonly reason: string;
}

/**
 * What a budget is built from: the factory's limits, and each origin's
 * limit as the factory sees it (the per-host limit, lowered by an adapter
 * that learned the server allows fewer, e.g. after FTP 421; the total for a
 * virtual scheme such as `mirror://`, which is not one host).
 */
export interface BudgetInit {
  /** Transfers at once in this process. */
  readonly total: number;
  /** The configured per-host limit. */
  readonly perHost: number;
  /**
   * The most connections `origin` may have at once now, and so the most
   * transfers when one connection carries one. Cheap; call it freely.
   */
  limitFor(origin: string): number;
  /**
   * How many transfers one connection to `origin` carries now (HTTP/2
   * streams); 1 when absent. A budget that counts transfers in this process
   * may admit `limitFor(origin)` times this many; one that leases
   * connections keeps leasing at most `limitFor(origin)`. A budget that
   * ignores it stays correct, only admitting fewer transfers.
   */
  transfersPerConnection?(origin: string): number;
  /** Bytes per second for every transfer of this budget together (`limits.rate`); none when absent. */
  readonly rate?: number;
  /** Bytes per second per origin (`limits.ratePerHost`); none when absent. */
  readonly ratePerHost?: number;
  /**
   * Where the budget reports what it does to hosts, so the factory can
   * publish it as progress events and diagnostics messages.
   */
  report?<E extends keyof HostEvents>(event: E, payload: HostEvents[E]): void;
}

/**
 * An origin the budget is being gentle with: paused after it asked for less
 * load, or running under a lowered limit that climbs back one step per quiet
 * period.
 */
export interface HostThrottle {
  /** `scheme://host:port`. */
  readonly origin: string;
  /** Transfers it may have at once now (halved on each signal, never below 1). */
  readonly limit: number;
  /** Transfers it may have at once when fully recovered (`limitFor(origin)`). */
  readonly configuredLimit: number;
  /** Until when (epoch milliseconds) no new transfer starts to it; absent when not paused. */
  readonly pausedUntil?: number;
  /** What the host last said, e.g. `HTTP 429`, `FTP 421`, `ECONNREFUSED ×3`. */
  readonly reason: string;
}

/** Published when a host signal paused an origin (channel `dl:host-throttled`, factory event `host-throttled`). */
export interface HostThrottledEvent extends HostThrottle {
  /** How long this pause is (the host's hint, or the jittered exponential pause). */
  readonly pauseMs: number;
  /** Whether the pause came from the host's own hint (Retry-After). */
  readonly hinted: boolean;
}

/** Published when an origin is back at its configured limit (channel `dl:host-recovered`, factory event `host-recovered`). */
export interface HostRecoveredEvent {
  readonly origin: string;
  readonly limit: number;
}

/** What a budget reports about hosts. */
export interface HostEvents {
  'host-throttled': HostThrottledEvent;
  'host-recovered': HostRecoveredEvent;
}

/**
 * Admission: who may start a transfer now. The scheduler, the attempt loop
 * (again after each backoff) and `open()` ask it for a permit before every
 * transfer and give the permit back when the transfer is over.
 *
 * The in-process limiter is the default. Another implementation may keep
 * the per-host counts elsewhere (Redis, for a fleet of workers sharing one
 * per-host budget) and answer asynchronously; everything above it works
 * unchanged. An implementation must guarantee:
 *
 * - a granted permit counts until it is released, and never more transfers
 *   than `total` hold permits of this budget at once;
 * - `acquire` honours its signal: once the signal aborts, the promise
 *   rejects with an `aborted` `DownloadError` and the budget holds nothing
 *   for it (a permit granted in the same instant is released);
 * - waiting for a full origin does not hold up requests for other origins;
 * - `acquire` rejects only on abort or when the budget can never grant
 *   (closed, misconfigured); passing trouble (a lost connection to a shared
 *   store) is waited out, not thrown.
 */
export interface AdmissionBudget {
  /** Transfers at once in this process; the scheduler sizes its look-ahead from it. */
  readonly total: number;
  /** Permits of this budget held in this process now. */
  readonly active: number;
  /**
   * A permit now, or `undefined` when it would have to wait. Optional: a
   * budget that must ask elsewhere leaves it out, and callers use `acquire`.
   * Must not have side effects when it answers `undefined`.
   */
  tryAcquire?(origin: string): Permit | undefined;
  /** A permit for one transfer to `origin`, waiting in line when the limits are reached. */
  acquire(origin: string, signal?: AbortSignal): Promise<Permit>;
  /**
   * Calls `listener` after any permit of this budget was released, and
   * whenever capacity came back otherwise (a host pause ended, a lowered
   * limit rose), so a caller that uses `tryAcquire` knows when to ask again.
   * Returns an unsubscribe function.
   */
  onRelease(listener: () => void): () => void;
  /**
   * A download saw the host ask for less load. Optional; a budget that
   * implements it pauses new transfers to `origin` for every download it
   * admits (transfers in flight go on) and may lower the origin's limit.
   */
  hostSignal?(origin: string, signal: HostSignal): void;
  /**
   * `bytes` were just read from `origin`. Optional; a budget with bandwidth
   * caps answers with a promise that resolves when the caps allow the next
   * read (the reader waits, so the socket's backpressure slows the sender
   * and memory stays bounded), and `undefined` when no wait is needed, so
   * the common case costs no promise per chunk. Must settle when `signal`
   * aborts.
   */
  takeBytes?(origin: string, bytes: number, signal: AbortSignal): Promise<void> | undefined;
  /** The origins being throttled now (paused or under a lowered limit), for `stats()`. Optional. */
  throttledHosts?(): readonly HostThrottle[];
  /** Releases what the budget holds outside this process (leases, timers). Called once by the factory's `close()`/`destroy()`. */
  close?(): Promise<void>;
  /**
   * A lease for one connection to `origin`, held from before the connection
   * is opened until it is closed: resolves with the function that gives it
   * back (call it exactly once; later calls do nothing). Optional.
   *
   * Why: a budget shared by a fleet (Redis) promises a host at most N
   * connections from all the processes together, and a server counts the
   * idle keep-alive sockets and logged-in control connections each process
   * pools, not only the busy ones. When a budget has it, the factory hands
   * it to every adapter as `SessionContext.connectionGate`, and caps idle
   * connections (`SessionContext.maxIdleMs`) so an idle one does not hold a
   * fleet slot for long. Such a budget counts connections against the
   * per-host limit; its transfer permits (`acquire`) may then count in this
   * process only. Must honour `signal` like `acquire` (rejects with an
   * `aborted` `DownloadError`, holding nothing), and block while `origin`
   * is paused. The in-process limiter leaves it out: within one process
   * each adapter's per-host connection cap already bounds the connections.
   */
  connections?(origin: string, signal?: AbortSignal): Promise<() => void>;
  /**
   * With `connections`: whether a connection to `origin` should close after
   * its current use, because this process holds more than its fair share of
   * the origin's connections while another process waits for one. A true
   * answer counts (the budget expects one connection fewer), so ask once per
   * connection at a point where it can then be closed. Optional.
   */
  retireConnection?(origin: string): boolean;
}

/**
 * Builds a factory's budget. Passed as `budget` in the factory options (code,
 * never part of the plain-data configuration: each process passes its own).
 */
export type BudgetProvider = (init: BudgetInit) => AdmissionBudget;
