import { randomUUID } from 'node:crypto';
import {
  abortError,
  DownloadError,
  ErrorCodes,
  type AdmissionBudget,
  type BudgetInit,
  type BudgetProvider,
  type HostSignal,
  type HostThrottle,
  type Logger,
  type Permit,
} from '@dl/core';
import { Redis, type RedisOptions } from 'ioredis';
import type { RedisBudgetOptions } from './redis-budget-options.js';
import { ACQUIRE, RECOVERED, RELEASE, RENEW, SIGNAL } from './redis-budget-scripts.js';
import { FleetRate, TAKE_RATE } from './redis-rate.js';

const DEFAULT_LEASE_MS = 10_000;
const DEFAULT_RENEW_EVERY_MS = 2_500;
const DEFAULT_POLL_MS = 100;
const DEFAULT_QUIET_MS = 5_000;
/** Refused or reset connections within {@link REFUSED_WINDOW_MS} that pause a host. */
const REFUSED_BURST = 3;
const REFUSED_WINDOW_MS = 5_000;
const REFUSED_PAUSE_MS = 1_000;
/** A throttle without Retry-After pauses 1 s, doubling per throttle within a minute, up to 30 s. */
const THROTTLE_BASE_MS = 1_000;
const THROTTLE_MAX_MS = 30_000;
/** The longest pause a Retry-After can ask for. */
const MAX_PAUSE_MS = 5 * 60_000;
/** How long a worker left wanting a lease stays in an origin's want set unless it asks again. */
const WANT_MS = 2_000;
/** The least time between two renewals prompted by another worker wanting leases. */
const WANTED_RENEW_MS = 250;
/**
 * How long a transfer admission trusts what it last heard of an origin's
 * pause before asking Redis again. Pauses are also published as they are
 * set, so this only bounds the cost of a message lost while the
 * subscription was down (a re-subscription forgets everything heard).
 */
const PAUSE_FRESH_MS = 1_000;
/** Origins whose pause state is remembered (forgotten all at once past this). */
const PAUSES_KEPT = 1_024;

/** Reconnects at once, then every 50 ms more, never waiting more than 500 ms between tries. */
const WAIT_OUT: RedisOptions = {
  maxRetriesPerRequest: null,
  enableOfflineQueue: true,
  retryStrategy: (times: number) => Math.min(times * 50, 500),
};

interface Scripts {
  dlAcquire(
    ...args: (string | number)[]
  ): Promise<
    [
      granted: number,
      pausedMs: number,
      limit: number,
      nextStepMs: number,
      reason: string,
      share: number,
    ]
  >;
  dlRelease(...args: (string | number)[]): Promise<number>;
  dlRenew(...args: (string | number)[]): Promise<number[]>;
  dlSignal(
    ...args: (string | number)[]
  ): Promise<[counted: number, pausedMs: number, limit: number, gen: number, pauseMs: number]>;
  dlRecovered(...args: (string | number)[]): Promise<number>;
  dlTakeRate(...args: (string | number)[]): Promise<number>;
}

/** What this process last heard of an origin the fleet is being gentle with. */
interface Throttle {
  /** The limit when heard, and (local clock) when it climbs next; undefined when at the configured limit. */
  limit: number;
  nextStepAt: number | undefined;
  pausedUntil: number;
  reason: string;
}

interface Waiter {
  readonly resolve: (permit: Permit) => void;
  readonly reject: (error: unknown) => void;
  readonly signal: AbortSignal | undefined;
  onAbort: (() => void) | undefined;
  done: boolean;
}

/** Why an origin's line sleeps: this process's total is reached, the origin is full, or paused. */
type Sleep = 'total' | 'full' | 'paused';

interface Line {
  readonly origin: string;
  /** Transfer permits (`acquire`) or connection leases (`connections`). */
  readonly kind: 'transfer' | 'connection';
  /** The map it is listed in. */
  readonly map: Map<string, Line>;
  readonly queue: Waiter[];
  /** The loop serving this line, while it runs. */
  running: Promise<void> | undefined;
  sleeping: Sleep | undefined;
  wake: (() => void) | undefined;
}

/**
 * A {@link BudgetProvider} whose per-origin limits hold across a fleet of
 * processes sharing one Redis: a per-host limit of N means the host sees at
 * most N transfers from all of them together. `total` stays per process.
 *
 * Each permit is a lease in Redis, renewed while it is held; a process that
 * dies stops renewing and its permits come back within `leaseMs`. A host
 * that says it is overloaded (HTTP 429/503, FTP 421, a burst of refused
 * connections) is paused for the whole fleet. Redis trouble is waited out.
 */
export function redisBudget(options: RedisBudgetOptions): BudgetProvider {
  const leaseMs = options.leaseMs ?? DEFAULT_LEASE_MS;
  const renewEveryMs = options.renewEveryMs ?? DEFAULT_RENEW_EVERY_MS;
  const pollMs = options.pollMs ?? DEFAULT_POLL_MS;
  const quietMs = options.quietMs ?? DEFAULT_QUIET_MS;
  for (const [name, value] of Object.entries({ leaseMs, renewEveryMs, pollMs, quietMs })) {
    if (!Number.isInteger(value) || value <= 0) {
      throw new DownloadError(`redisBudget: ${name} must be a positive integer`, {
        code: ErrorCodes.InvalidRequest,
      });
    }
  }
  if (renewEveryMs * 2 > leaseMs) {
    throw new DownloadError('redisBudget: leaseMs must be at least twice renewEveryMs', {
      code: ErrorCodes.InvalidRequest,
    });
  }
  return (init) =>
    new RedisBudget(init, {
      connection: options.connection,
      prefix: options.prefix ?? 'dl',
      leaseMs,
      renewEveryMs,
      pollMs,
      quietMs,
      logger: options.logger,
      gated: (options.lease ?? 'connections') === 'connections',
    });
}

interface Settings {
  readonly connection: RedisBudgetOptions['connection'];
  readonly prefix: string;
  readonly leaseMs: number;
  readonly renewEveryMs: number;
  readonly pollMs: number;
  readonly quietMs: number;
  readonly logger: Logger | undefined;
  /** Redis leases count connections (`connections`), and transfer permits count in this process. */
  readonly gated: boolean;
}

class RedisBudget implements AdmissionBudget {
  readonly total: number;
  readonly #init: BudgetInit;
  readonly #settings: Settings;
  readonly #redis: Redis;
  readonly #scripts: Scripts;
  readonly #subscriber: Redis;
  readonly #channel: string;
  /** Where a worker left wanting a lease publishes the origin, so its holders learn their share. */
  readonly #wantChannel: string;
  /** Where the signal script publishes each pause it sets, as `{ms} {origin}`. */
  readonly #pauseChannel: string;
  /** Per origin: when this process last heard whether it is paused (local clock), and until when. */
  readonly #pauses = new Map<string, { heardAt: number; until: number }>();
  /** Whether the subscriber is subscribed: only then are the pauses heard complete. */
  #listening = false;
  /** Lease ids are `{process}:{n}`: unique across the fleet, and tell an operator whose they are. */
  readonly #process = randomUUID();
  #sequence = 0;
  #active = 0;
  /** Slots offered to Redis in calls not yet answered (they count against `total`). */
  #asking = 0;
  readonly #lines = new Map<string, Line>();
  /** Waiters for connection leases, by origin. */
  readonly #connectionLines = new Map<string, Line>();
  /** Leases held in Redis, by origin. */
  readonly #held = new Map<string, Set<string>>();
  /** Permits of origins that are not hosts (a virtual scheme), counted here only. */
  readonly #local = new Map<string, number>();
  readonly #listeners = new Set<() => void>();
  readonly #renewTimer: NodeJS.Timeout;
  #renewing: Promise<void> | undefined;
  #renewedAt = 0;
  /** Per origin: this process's fair share of its leases, while another worker wants one. */
  readonly #shares = new Map<string, number>();
  /** Per origin: connections told to close for the share and not yet given back. */
  readonly #retiring = new Map<string, number>();
  #closed: Promise<void> | undefined;
  #lastTrouble = 0;
  readonly #rate: FleetRate;
  readonly #throttles = new Map<string, Throttle>();
  /** Per origin: the timer of the recovery check this process owns (it sent the last signal). */
  readonly #recoveries = new Map<string, NodeJS.Timeout>();

  constructor(init: BudgetInit, settings: Settings) {
    this.total = init.total;
    this.#init = init;
    this.#settings = settings;
    if (settings.gated) {
      this.connections = (origin, signal) =>
        this.#wait(this.#lineOf(this.#connectionLines, 'connection', origin), signal).then(
          (permit) => () => permit.release(),
        );
    }
    this.#channel = `${settings.prefix}:released`;
    this.#wantChannel = `${settings.prefix}:wanted`;
    this.#pauseChannel = `${settings.prefix}:paused`;
    this.#redis = connect(settings.connection);
    this.#redis.defineCommand('dlAcquire', { numberOfKeys: 4, lua: ACQUIRE });
    this.#redis.defineCommand('dlRelease', { numberOfKeys: 1, lua: RELEASE });
    this.#redis.defineCommand('dlRenew', { lua: RENEW });
    this.#redis.defineCommand('dlSignal', { numberOfKeys: 4, lua: SIGNAL });
    this.#redis.defineCommand('dlRecovered', { numberOfKeys: 2, lua: RECOVERED });
    this.#redis.defineCommand('dlTakeRate', { numberOfKeys: 1, lua: TAKE_RATE });
    this.#scripts = this.#redis as unknown as Scripts;
    this.#redis.on('error', (error: unknown) => this.#trouble(error));
    // Back after an outage: renew at once rather than at the next tick.
    this.#redis.on('ready', () => this.#renew());
    this.#subscriber = this.#redis.duplicate();
    this.#subscriber.on('error', (error: unknown) => this.#trouble(error));
    this.#subscriber.on('message', (channel: string, origin: string) => {
      if (channel === this.#pauseChannel) {
        const space = origin.indexOf(' ');
        this.#heardPause(origin.slice(space + 1), Number(origin.slice(0, space)));
        return;
      }
      if (channel === this.#wantChannel) {
        // Another worker wants a lease of an origin this one holds: learn the share soon.
        if (this.#held.has(origin) && Date.now() - this.#renewedAt >= WANTED_RENEW_MS) {
          this.#renew();
        }
        return;
      }
      this.#wake(this.#lines.get(origin), 'full');
      this.#wake(this.#connectionLines.get(origin), 'full');
    });
    // Pauses published while not subscribed are missed: forget what was heard, ask again.
    const deaf = () => {
      this.#listening = false;
      this.#pauses.clear();
    };
    this.#subscriber.on('close', deaf);
    this.#subscriber.on('reconnecting', deaf);
    // On every (re)connection; the reply says the channels are listened to from now on.
    this.#subscriber.on('ready', () => {
      this.#subscriber
        .subscribe(this.#channel, this.#wantChannel, this.#pauseChannel)
        .then(() => {
          this.#pauses.clear();
          this.#listening = this.#subscriber.status === 'ready';
        })
        .catch((error: unknown) => this.#trouble(error));
    });
    this.#renewTimer = setInterval(() => this.#renew(), settings.renewEveryMs);
    this.#renewTimer.unref();
    this.#rate = new FleetRate({
      prefix: settings.prefix,
      rate: init.rate,
      ratePerHost: init.ratePerHost,
      take: (key, rate, burstMs, bytes) =>
        this.#scripts.dlTakeRate(key, rate, burstMs.toFixed(3), bytes),
      retryMs: () => this.#jittered(),
      trouble: (error) => this.#trouble(error),
    });
  }

  /** Calls to Redis for the bandwidth caps so far (diagnostics). */
  get rateCalls(): number {
    return this.#rate.calls;
  }

  get active(): number {
    return this.#active;
  }

  /**
   * With `lease: 'connections'` (the default): a fleet-wide lease for one
   * connection to `origin`, renewed while held, given back by the function
   * it resolves with (the adapter calls it when the connection closed).
   * Blocks while the origin is paused.
   */
  readonly connections?: (origin: string, signal?: AbortSignal) => Promise<() => void>;

  /**
   * Whether a connection to `origin` should close after its current use
   * because this process holds more than its fair share of the origin's
   * leases while another worker waits for one. Answers true once per
   * connection too many (it counts the answer until a lease comes back).
   */
  retireConnection(origin: string): boolean {
    const share = this.#shares.get(origin);
    if (share === undefined || !this.#settings.gated) return false;
    const retiring = this.#retiring.get(origin) ?? 0;
    if ((this.#held.get(origin)?.size ?? 0) - retiring <= share) return false;
    this.#retiring.set(origin, retiring + 1);
    return true;
  }

  acquire(origin: string, signal?: AbortSignal): Promise<Permit> {
    return this.#wait(this.#lineOf(this.#lines, 'transfer', origin), signal);
  }

  #wait(line: Line, signal: AbortSignal | undefined): Promise<Permit> {
    const { origin } = line;
    if (this.#closed !== undefined) return Promise.reject(closedError());
    if (signal?.aborted) return Promise.reject(abortError(signal.reason));
    return new Promise<Permit>((resolve, reject) => {
      const waiter: Waiter = { resolve, reject, signal, onAbort: undefined, done: false };
      if (signal !== undefined) {
        waiter.onAbort = () => {
          if (waiter.done) return;
          waiter.done = true;
          remove(line.queue, waiter);
          reject(abortError(signal.reason));
          if (line.queue.length === 0 && line.running === undefined) line.map.delete(origin);
        };
        signal.addEventListener('abort', waiter.onAbort, { once: true });
      }
      line.queue.push(waiter);
      this.#serve(line);
    });
  }

  onRelease(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  hostSignal(origin: string, signal: HostSignal): void {
    if (this.#closed !== undefined || !this.#isHost(origin)) return;
    const hinted = signal.kind === 'throttled' && signal.retryAfterMs !== undefined;
    const pauseMs = hinted
      ? Math.min(Math.max(0, Math.round(signal.retryAfterMs!)), MAX_PAUSE_MS)
      : -1;
    const jitter = 0.8 + Math.random() * 0.4;
    const configured = this.#init.limitFor(origin);
    const reason =
      signal.kind === 'refused' ? `${signal.reason} ×${String(REFUSED_BURST)}` : signal.reason;
    this.#scripts
      .dlSignal(
        this.#key('pause', origin),
        this.#key('refused', origin),
        this.#key('throttled', origin),
        this.#key('limit', origin),
        signal.kind,
        pauseMs,
        REFUSED_BURST,
        REFUSED_WINDOW_MS,
        REFUSED_PAUSE_MS,
        THROTTLE_BASE_MS,
        THROTTLE_MAX_MS,
        jitter.toFixed(3),
        configured,
        this.#settings.quietMs,
        reason,
        this.#pauseChannel,
        origin,
      )
      .then(
        ([counted, pausedMs, limit, gen, thisPauseMs]) => {
          if (counted === 0 || this.#closed !== undefined) return;
          this.#heardPause(origin, pausedMs);
          const now = Date.now();
          const { quietMs } = this.#settings;
          this.#heard(origin, {
            limit,
            nextStepAt: limit < configured ? now + pausedMs + quietMs : undefined,
            pausedUntil: now + pausedMs,
            reason,
          });
          this.#settings.logger?.info('host paused for the fleet', {
            origin,
            pausedMs,
            limit,
            reason: signal.reason,
          });
          this.#init.report?.('host-throttled', {
            // Undefined when the signal neither paused nor lowered anything (a limit of 1, no pause).
            ...(this.#describe(origin, configured, now) ?? {
              origin,
              limit,
              configuredLimit: configured,
              reason,
            }),
            pauseMs: thisPauseMs,
            hinted,
          });
          this.#watchRecovery(origin, gen, pausedMs + (configured - limit) * quietMs);
        },
        (error: unknown) => this.#trouble(error),
      );
  }

  /** The origins this process heard are paused or under a lowered limit (as of its last call about them). */
  throttledHosts(): readonly HostThrottle[] {
    const out: HostThrottle[] = [];
    const now = Date.now();
    for (const origin of [...this.#throttles.keys()]) {
      const described = this.#describe(origin, this.#init.limitFor(origin), now);
      if (described === undefined) this.#throttles.delete(origin);
      else out.push(described);
    }
    return out;
  }

  takeBytes(origin: string, bytes: number, signal: AbortSignal): Promise<void> | undefined {
    return this.#rate.takeBytes(origin, bytes, signal);
  }

  close(): Promise<void> {
    this.#closed ??= this.#shutdown();
    return this.#closed;
  }

  async #shutdown(): Promise<void> {
    clearInterval(this.#renewTimer);
    this.#rate.close();
    for (const timer of this.#recoveries.values()) clearTimeout(timer);
    this.#recoveries.clear();
    const running: Promise<void>[] = [];
    for (const line of [...this.#lines.values(), ...this.#connectionLines.values()]) {
      for (const waiter of line.queue.splice(0)) {
        waiter.done = true;
        if (waiter.signal && waiter.onAbort)
          waiter.signal.removeEventListener('abort', waiter.onAbort);
        waiter.reject(closedError());
      }
      line.wake?.();
      if (line.running !== undefined) running.push(line.running);
    }
    // Calls in flight may still grant leases; they are released as they come back.
    await bounded(Promise.all([...running, this.#renewing]), this.#settings.leaseMs);
    const releases = [...this.#held].map(([origin, ids]) =>
      this.#scripts
        .dlRelease(this.#key('lease', origin), this.#channel, origin, ...ids)
        .catch((error: unknown) => this.#trouble(error)),
    );
    this.#held.clear();
    // Redis away for good: the leases expire on their own within leaseMs.
    await bounded(Promise.all(releases), this.#settings.leaseMs);
    await Promise.all([quit(this.#subscriber), quit(this.#redis)]);
  }

  #lineOf(map: Map<string, Line>, kind: Line['kind'], origin: string): Line {
    let line = map.get(origin);
    if (line === undefined) {
      line = {
        origin,
        kind,
        map,
        queue: [],
        running: undefined,
        sleeping: undefined,
        wake: undefined,
      };
      map.set(origin, line);
    }
    return line;
  }

  /** Starts the loop that serves `line`, unless it runs already. */
  #serve(line: Line): void {
    if (line.running !== undefined) return;
    line.running = this.#loop(line).finally(() => {
      line.running = undefined;
      if (line.queue.length === 0) {
        if (line.map.get(line.origin) === line) line.map.delete(line.origin);
      } else if (this.#closed === undefined) {
        this.#serve(line);
      }
    });
  }

  /** Serves one origin's waiters in order; a full origin sleeps without holding up others. */
  async #loop(line: Line): Promise<void> {
    const { origin, queue } = line;
    const transfers = line.kind === 'transfer';
    while (queue.length > 0 && this.#closed === undefined) {
      // Connections are bounded by the adapters' own caps; only transfers count against `total`.
      const room = transfers ? this.total - this.#active - this.#asking : queue.length;
      if (room <= 0) {
        await this.#sleep(line, 'total', this.#settings.pollMs);
        continue;
      }
      const limit = this.#init.limitFor(origin);
      if (transfers && (this.#settings.gated || !this.#isHost(origin, limit))) {
        // Counted in this process only: a virtual origin, or a host whose connections the fleet counts.
        // While other workers hold or want its connections, no more transfers than this worker's
        // share: the others would only wait for a connection lease at the gate, and bounce.
        const cap = this.#settings.gated
          ? Math.min(limit, this.#shares.get(origin) ?? limit)
          : limit;
        const free = Math.min(room, cap - (this.#local.get(origin) ?? 0));
        if (free > 0 && this.#isHost(origin, limit)) {
          // A paused host gets no new transfer either, even over a connection kept open.
          const pausedMs = this.#knownPause(origin) ?? (await this.#pausedFor(line, origin, limit));
          if (pausedMs !== 0) {
            if (pausedMs > 0) await this.#sleep(line, 'paused', pausedMs + this.#jittered());
            continue;
          }
        }
        for (const waiter of queue.slice(0, Math.max(0, free))) {
          this.#hand(line, waiter, this.#grant(origin, undefined, true));
        }
        if (queue.length > 0) await this.#sleep(line, 'full', this.#settings.pollMs);
        continue;
      }
      const batch = queue.slice(0, room);
      const ids = batch.map(() => `${this.#process}:${String(++this.#sequence)}`);
      if (transfers) this.#asking += batch.length;
      let reply: Awaited<ReturnType<Scripts['dlAcquire']>>;
      try {
        reply = await this.#scripts.dlAcquire(
          this.#key('lease', origin),
          this.#key('pause', origin),
          this.#key('limit', origin),
          this.#key('want', origin),
          limit,
          this.#settings.leaseMs,
          this.#settings.quietMs,
          this.#process,
          WANT_MS,
          this.#wantChannel,
          origin,
          ...ids,
        );
      } catch (error) {
        this.#trouble(error);
        await this.#sleep(line, 'full', this.#jittered());
        continue;
      } finally {
        if (transfers) this.#asking -= batch.length;
      }
      const [granted, pausedMs] = reply;
      this.#heardReply(origin, limit, reply);
      for (let i = 0; i < granted; i++) {
        // A waiter that gave up meanwhile (a connect waits 250 ms at the gate, then is sent again)
        // passes its lease to the next one in line: under load a reply may come later than that,
        // and giving every lease back would leave the line wanting for good.
        const waiter = batch[i]!.done ? line.queue.find((next) => !next.done) : batch[i]!;
        const permit = this.#grant(origin, ids[i], transfers);
        if (waiter === undefined) permit.release();
        else this.#hand(line, waiter, permit);
      }
      if (granted === batch.length) continue;
      if (pausedMs > 0) await this.#sleep(line, 'paused', pausedMs + this.#jittered());
      else await this.#sleep(line, 'full', this.#jittered());
    }
  }

  /**
   * Whether `origin` is paused for the fleet: 0 when not, the ms left when
   * it is, -1 after Redis trouble (slept off already). Asks with the lease
   * script offering no lease, so it also hears of a lowered limit.
   */
  async #pausedFor(line: Line, origin: string, limit: number): Promise<number> {
    try {
      const reply = await this.#scripts.dlAcquire(
        this.#key('lease', origin),
        this.#key('pause', origin),
        this.#key('limit', origin),
        this.#key('want', origin),
        limit,
        this.#settings.leaseMs,
        this.#settings.quietMs,
        this.#process,
        WANT_MS,
        this.#wantChannel,
        origin,
      );
      this.#heardReply(origin, limit, reply);
      return reply[1];
    } catch (error) {
      this.#trouble(error);
      await this.#sleep(line, 'full', this.#jittered());
      return -1;
    }
  }

  /**
   * What this process knows of `origin`'s pause without asking: the ms left,
   * 0 when it heard lately that there is none, undefined when it must ask
   * (never heard, heard too long ago, a pause just ended, not subscribed, or
   * no connection to it held).
   */
  #knownPause(origin: string): number | undefined {
    // Without a connection to the host, the transfer will wait for a lease anyway: ask, exactly.
    if (!this.#listening || !this.#held.has(origin)) return undefined;
    const seen = this.#pauses.get(origin);
    if (seen === undefined) return undefined;
    const now = Date.now();
    if (seen.until > now) return seen.until - now;
    if (seen.until !== 0 || now - seen.heardAt > PAUSE_FRESH_MS) return undefined;
    return 0;
  }

  /** Notes that `origin` is paused for `ms` more (0: not paused); a pause heard by another way is kept (pauses only grow). */
  #heardPause(origin: string, ms: number): void {
    if (!Number.isFinite(ms)) return;
    const now = Date.now();
    const seen = this.#pauses.get(origin);
    let until = ms > 0 ? now + ms : 0;
    if (seen !== undefined && seen.until > now) until = Math.max(until, seen.until);
    if (seen === undefined && this.#pauses.size >= PAUSES_KEPT) this.#pauses.clear();
    this.#pauses.set(origin, { heardAt: now, until });
  }

  /** Notes what a lease call said of `origin`'s pause and limit. */
  #heardReply(origin: string, limit: number, reply: Awaited<ReturnType<Scripts['dlAcquire']>>) {
    const [, pausedMs, fleetLimit, nextStepMs, reason, share] = reply;
    this.#heardShare(origin, share);
    this.#heardPause(origin, pausedMs);
    if (pausedMs > 0 || fleetLimit < limit) {
      const at = Date.now();
      this.#heard(origin, {
        limit: fleetLimit,
        nextStepAt: nextStepMs >= 0 ? at + nextStepMs : undefined,
        pausedUntil: at + pausedMs,
        reason,
      });
    } else {
      this.#throttles.delete(origin);
    }
  }

  /** Gives `permit` to `waiter`, or back at once when the waiter gave up (or the budget closed) meanwhile. */
  #hand(line: Line, waiter: Waiter, permit: Permit): void {
    if (waiter.done || this.#closed !== undefined) {
      permit.release();
      return;
    }
    waiter.done = true;
    remove(line.queue, waiter);
    if (waiter.signal && waiter.onAbort) waiter.signal.removeEventListener('abort', waiter.onAbort);
    waiter.resolve(permit);
  }

  /** A permit; `transfer`: one of this process's transfers (counted in `active`), else a connection lease. */
  #grant(origin: string, id: string | undefined, transfer: boolean): Permit {
    if (transfer) this.#active++;
    if (id === undefined) {
      this.#local.set(origin, (this.#local.get(origin) ?? 0) + 1);
    } else {
      let ids = this.#held.get(origin);
      if (ids === undefined) this.#held.set(origin, (ids = new Set()));
      ids.add(id);
    }
    let released = false;
    return {
      origin,
      release: () => {
        if (released) return;
        released = true;
        if (transfer) this.#active--;
        if (id === undefined) {
          const left = (this.#local.get(origin) ?? 1) - 1;
          if (left === 0) this.#local.delete(origin);
          else this.#local.set(origin, left);
        } else {
          const ids = this.#held.get(origin);
          // Gone from #held: close() released it with the others.
          if (ids?.delete(id) === true) {
            // The share stays until a reply says nobody else wants a lease: it also caps this
            // worker's transfers, which must not all rush to the gate when its last lease is back.
            if (ids.size === 0) this.#held.delete(origin);
            const retiring = this.#retiring.get(origin) ?? 0;
            if (retiring > 1) this.#retiring.set(origin, retiring - 1);
            else this.#retiring.delete(origin);
            this.#scripts
              .dlRelease(this.#key('lease', origin), this.#channel, origin, id)
              .catch((error: unknown) => this.#trouble(error));
          }
        }
        if (!transfer) {
          this.#wake(this.#connectionLines.get(origin), 'full');
          return;
        }
        this.#wake(this.#lines.get(origin), 'full');
        for (const line of this.#lines.values()) this.#wake(line, 'total');
        for (const listener of this.#listeners) listener();
      },
    };
  }

  /** Renews every lease this process holds, in one call; skipped while the last one is unanswered. */
  #renew(): void {
    if (this.#renewing !== undefined || this.#held.size === 0 || this.#closed !== undefined) return;
    this.#renewedAt = Date.now();
    const origins = [...this.#held.keys()];
    const keys = origins.map((origin) => this.#key('lease', origin));
    keys.push(...origins.map((origin) => this.#key('want', origin)));
    const args: (string | number)[] = [this.#settings.leaseMs, this.#process];
    for (const [origin, ids] of this.#held) {
      args.push(this.#init.limitFor(origin), ids.size, ...ids);
    }
    this.#renewing = this.#scripts
      .dlRenew(keys.length, ...keys, ...args)
      .then(
        ([late = 0, ...shares]) => {
          origins.forEach((origin, i) => this.#heardShare(origin, shares[i] ?? -1));
          if (late > 0) {
            // Their transfers ran on while they did not count: the fleet may have gone over a limit.
            this.#settings.logger?.warn('leases expired or lost in Redis were put back', { late });
          }
        },
        (error: unknown) => this.#trouble(error),
      )
      .finally(() => {
        this.#renewing = undefined;
      });
  }

  /** Notes this process's share of `origin` (-1: nobody else wants a lease of it). */
  #heardShare(origin: string, share: number): void {
    if (share < 0) {
      this.#shares.delete(origin);
    } else {
      this.#shares.set(origin, share);
    }
  }

  #heard(origin: string, throttle: Throttle): void {
    if (!this.#throttles.has(origin) && this.#throttles.size >= 256) this.throttledHosts();
    this.#throttles.set(origin, throttle);
  }

  /** What this process knows of `origin`'s throttle at `now`, extrapolated; undefined when over. */
  #describe(origin: string, configured: number, now: number): HostThrottle | undefined {
    const throttle = this.#throttles.get(origin);
    if (throttle === undefined) return undefined;
    let { limit } = throttle;
    const { nextStepAt } = throttle;
    if (nextStepAt !== undefined && now >= nextStepAt) {
      limit += 1 + Math.floor((now - nextStepAt) / this.#settings.quietMs);
    }
    limit = Math.min(limit, configured);
    const paused = throttle.pausedUntil > now;
    if (!paused && limit >= configured) return undefined;
    return {
      origin,
      limit,
      configuredLimit: configured,
      reason: throttle.reason,
      ...(paused ? { pausedUntil: throttle.pausedUntil } : {}),
    };
  }

  /**
   * This process sent `origin`'s latest signal (`gen`): it checks, when the
   * limit should be back, that it is, and reports the recovery. A later
   * signal from another process hands that duty to it.
   */
  #watchRecovery(origin: string, gen: number, inMs: number): void {
    clearTimeout(this.#recoveries.get(origin));
    const timer = setTimeout(
      () => {
        this.#recoveries.delete(origin);
        if (this.#closed !== undefined) return;
        const configured = this.#init.limitFor(origin);
        this.#scripts
          .dlRecovered(
            this.#key('pause', origin),
            this.#key('limit', origin),
            configured,
            this.#settings.quietMs,
            gen,
          )
          .then(
            (left) => {
              if (left < 0 || this.#closed !== undefined || this.#recoveries.has(origin)) return;
              if (left > 0) return this.#watchRecovery(origin, gen, left);
              this.#throttles.delete(origin);
              this.#init.report?.('host-recovered', { origin, limit: configured });
              for (const listener of this.#listeners) listener();
            },
            (error: unknown) => {
              this.#trouble(error);
              this.#watchRecovery(origin, gen, this.#settings.quietMs);
            },
          );
      },
      Math.max(0, inMs) + 10,
    );
    timer.unref();
    this.#recoveries.set(origin, timer);
  }

  /** Sleeps until `ms` passed or something it waits for happened (a release; close ends any sleep). */
  #sleep(line: Line, why: Sleep, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        line.sleeping = undefined;
        line.wake = undefined;
        resolve();
      };
      const timer = setTimeout(done, ms);
      line.sleeping = why;
      line.wake = done;
    });
  }

  #wake(line: Line | undefined, why: Sleep): void {
    if (line?.sleeping === why) line.wake?.();
  }

  /** Between half of `pollMs` and all of it. */
  #jittered(): number {
    const { pollMs } = this.#settings;
    return Math.ceil(pollMs / 2 + (Math.random() * pollMs) / 2);
  }

  /**
   * Whether `origin` is one host, counted across the fleet. A virtual scheme
   * (e.g. `mirror://`) spreads over many hosts and gets the whole total as
   * its limit, more than any host's: it is counted in this process only.
   */
  #isHost(origin: string, limit = this.#init.limitFor(origin)): boolean {
    return limit <= this.#init.perHost;
  }

  #key(kind: string, origin: string): string {
    return `${this.#settings.prefix}:${kind}:${origin}`;
  }

  /** Redis trouble is waited out; it is logged at most once a second. */
  #trouble(error: unknown): void {
    const now = Date.now();
    if (now - this.#lastTrouble < 1_000) return;
    this.#lastTrouble = now;
    this.#settings.logger?.warn('Redis trouble, waiting it out', {
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

function connect(connection: RedisBudgetOptions['connection']): Redis {
  if (typeof connection === 'string') return new Redis(connection, WAIT_OUT);
  if (typeof (connection as Redis).duplicate === 'function') {
    return (connection as Redis).duplicate(WAIT_OUT);
  }
  return new Redis({ ...(connection as RedisOptions), ...WAIT_OUT });
}

async function quit(redis: Redis): Promise<void> {
  if (redis.status === 'ready') {
    await bounded(
      redis.quit().catch(() => undefined),
      1_000,
    );
  }
  redis.disconnect();
}

/** Waits for `promise`, or `ms`, whichever comes first, leaving no timer behind. */
async function bounded(promise: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise<void>((resolve) => {
      timer = setTimeout(resolve, ms);
    }),
  ]);
  clearTimeout(timer);
}

function remove<T>(list: T[], item: T): void {
  const index = list.indexOf(item);
  if (index >= 0) list.splice(index, 1);
}

function closedError(): DownloadError {
  return new DownloadError('The Redis budget is closed', { code: ErrorCodes.Closed });
}
