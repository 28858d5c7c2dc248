import { abortError, DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/** How a {@link ConnectionPool} makes, checks and ends connections. */
export interface PoolDriver<C, S> {
  /** Opens and logs in one connection to `spec` (what `acquire` was given); must honour `signal`. */
  connect(host: string, spec: S, signal: AbortSignal): Promise<C>;
  /** False once the connection is broken (closed by the server, errored). */
  isAlive(connection: C): boolean;
  /** Graceful close (QUIT, SSH disconnect). Must not reject. */
  close(connection: C): Promise<void>;
  /** Abrupt close: sockets destroyed now. */
  destroy(connection: C): void;
  /** Keeps an idle connection alive (NOOP); rejects when it is broken. */
  ping?(connection: C): Promise<void>;
}

/** Limits and timers of a {@link ConnectionPool}. */
export interface PoolOptions {
  /** Connections at once to one host (open and opening), whatever their key. */
  readonly limit: number;
  /** An idle connection is closed after this long. */
  readonly idleTimeoutMs: number;
  /** An idle connection is pinged this often; 0 never. */
  readonly keepAliveIntervalMs: number;
}

/** One connection lent out by {@link ConnectionPool.acquire}; give it back exactly once. */
export interface Lease<C> {
  /** The connection, the lessee's alone until `release` or `discard`. */
  readonly connection: C;
  /** Whether the connection was reused rather than opened for this lease. */
  readonly reused: boolean;
  /** Returns a healthy connection to the pool (a broken one is discarded anyway). */
  release(): void;
  /** Ends the connection now and frees its slot. */
  discard(): void;
}

interface Entry<C> {
  readonly connection: C;
  readonly host: string;
  readonly key: string;
  idleSince: number;
  lastActivity: number;
  timer: NodeJS.Timeout | undefined;
}

interface Waiter {
  readonly wake: () => void;
}

interface HostState<C> {
  /** Connections open or opening (leased, idle, pinging or closing). */
  open: number;
  readonly idle: Entry<C>[];
  readonly waiters: Waiter[];
}

/**
 * For adapters whose connections carry one transfer at a time (FTP, SFTP, a
 * third party's SMB or WebDAV): logged-in connections per host, reused across
 * transfers. A host never has
 * more than its limit of connections open (or opening, or closing) at once,
 * whatever their key (user, TLS mode): that is the number the server sees.
 * Idle connections are pinged and closed after a while; a waiter for a full
 * host gets the next connection that frees up, and an idle connection of
 * another key is closed to make room.
 */
export class ConnectionPool<C, S> {
  readonly #driver: PoolDriver<C, S>;
  readonly #options: PoolOptions;
  readonly #hosts = new Map<string, HostState<C>>();
  /** Limits lowered below `options.limit` (a server said it has too many users). */
  readonly #lowered = new Map<string, number>();
  readonly #leased = new Set<Entry<C>>();
  readonly #pinging = new Set<Entry<C>>();
  readonly #closing = new Set<Promise<void>>();
  #closed = false;
  #drained: (() => void) | undefined;
  #closePromise: Promise<void> | undefined;

  constructor(driver: PoolDriver<C, S>, options: PoolOptions) {
    this.#driver = driver;
    this.#options = options;
  }

  /** True once `close` or `destroy` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The connection limit for `host` now. */
  limitFor(host: string): number {
    return Math.min(this.#options.limit, this.#lowered.get(host) ?? Infinity);
  }

  /** Lowers the limit of `host` for the rest of the pool's life (never below 1). */
  lower(host: string, limit: number): void {
    this.#lowered.set(host, Math.max(1, Math.min(limit, this.limitFor(host))));
  }

  /** Connections open or opening to `host`, or to every host. */
  openCount(host?: string): number {
    if (host !== undefined) return this.#hosts.get(host)?.open ?? 0;
    let total = 0;
    for (const state of this.#hosts.values()) total += state.open;
    return total;
  }

  /** Idle connections to `host`, or to every host. */
  idleCount(host?: string): number {
    if (host !== undefined) return this.#hosts.get(host)?.idle.length ?? 0;
    let total = 0;
    for (const state of this.#hosts.values()) total += state.idle.length;
    return total;
  }

  /**
   * Lends a connection for `key` at `host`: an idle one with that key, a new
   * one made from `spec`, or the next one freed. Never resolves for a caller
   * whose `signal` aborted: a connection opened just as it gave up goes back
   * to the pool.
   */
  async acquire(host: string, key: string, spec: S, signal: AbortSignal): Promise<Lease<C>> {
    for (;;) {
      if (this.#closed) throw closedError();
      if (signal.aborted) throw abortError(signal.reason);
      const entry = this.#takeIdle(this.#state(host), key);
      if (entry !== undefined) return this.#lend(entry, true);
      // Discarding dead idle connections may have forgotten the host's state: look it up again.
      const state = this.#state(host);
      if (state.open < this.limitFor(host)) {
        state.open++;
        let connection: C;
        try {
          connection = await this.#driver.connect(host, spec, signal);
        } catch (error) {
          state.open--;
          this.#settle(host);
          throw error;
        }
        const fresh: Entry<C> = {
          connection,
          host,
          key,
          idleSince: 0,
          lastActivity: Date.now(),
          timer: undefined,
        };
        if (this.#closed) {
          this.#end(fresh, false);
          throw closedError();
        }
        const lease = this.#lend(fresh, false);
        if (signal.aborted) {
          lease.release();
          throw abortError(signal.reason);
        }
        return lease;
      }
      const other = state.idle.findIndex((candidate) => candidate.key !== key);
      if (other >= 0) {
        const [evicted] = state.idle.splice(other, 1);
        if (evicted !== undefined) this.#end(evicted, true);
        continue;
      }
      await this.#wait(state, signal);
    }
  }

  /** Graceful: waits until every lent connection came back, then closes them all. Idempotent. */
  close(): Promise<void> {
    this.#closePromise ??= this.#close();
    return this.#closePromise;
  }

  async #close(): Promise<void> {
    this.#shut();
    if (this.#leased.size > 0) await new Promise<void>((resolve) => (this.#drained = resolve));
    for (const state of this.#hosts.values()) {
      for (const entry of state.idle.splice(0)) this.#end(entry, true);
    }
    await Promise.all([...this.#closing]);
  }

  /** Abrupt: ends every connection now, lent or idle. Idempotent. */
  destroy(): void {
    this.#shut();
    for (const entry of [...this.#leased, ...this.#pinging]) this.#driver.destroy(entry.connection);
    for (const state of this.#hosts.values()) {
      for (const entry of state.idle.splice(0)) this.#end(entry, false);
    }
  }

  #shut(): void {
    this.#closed = true;
    for (const state of this.#hosts.values()) {
      for (const waiter of state.waiters.splice(0)) waiter.wake();
    }
  }

  #state(host: string): HostState<C> {
    let state = this.#hosts.get(host);
    if (state === undefined) {
      state = { open: 0, idle: [], waiters: [] };
      this.#hosts.set(host, state);
    }
    return state;
  }

  #takeIdle(state: HostState<C>, key: string): Entry<C> | undefined {
    for (let i = state.idle.length - 1; i >= 0; i--) {
      const entry = state.idle[i] as Entry<C>;
      if (entry.key !== key) continue;
      state.idle.splice(i, 1);
      clearTimeout(entry.timer);
      entry.timer = undefined;
      if (this.#driver.isAlive(entry.connection)) return entry;
      this.#end(entry, false);
    }
    return undefined;
  }

  #lend(entry: Entry<C>, reused: boolean): Lease<C> {
    this.#leased.add(entry);
    let settled = false;
    const settle = (keep: boolean) => {
      if (settled) return;
      settled = true;
      this.#leased.delete(entry);
      entry.lastActivity = Date.now();
      const state = this.#state(entry.host);
      if (
        keep &&
        !this.#closed &&
        this.#driver.isAlive(entry.connection) &&
        state.open <= this.limitFor(entry.host)
      ) {
        entry.idleSince = entry.lastActivity;
        state.idle.push(entry);
        this.#schedule(entry);
        this.#settle(entry.host);
      } else {
        this.#end(entry, keep);
      }
      if (this.#leased.size === 0) this.#drained?.();
    };
    return {
      connection: entry.connection,
      reused,
      release: () => settle(true),
      discard: () => settle(false),
    };
  }

  /** Ends a connection that is in no list any more; its slot frees once it is closed. */
  #end(entry: Entry<C>, graceful: boolean): void {
    clearTimeout(entry.timer);
    entry.timer = undefined;
    const state = this.#state(entry.host);
    const done = () => {
      state.open--;
      this.#settle(entry.host);
    };
    if (!graceful || !this.#driver.isAlive(entry.connection)) {
      this.#driver.destroy(entry.connection);
      done();
      return;
    }
    const closing = this.#driver.close(entry.connection).finally(() => {
      this.#closing.delete(closing);
      done();
    });
    this.#closing.add(closing);
  }

  #schedule(entry: Entry<C>): void {
    const { idleTimeoutMs, keepAliveIntervalMs } = this.#options;
    const idleAt = entry.idleSince + idleTimeoutMs;
    const pingAt =
      keepAliveIntervalMs > 0 && this.#driver.ping
        ? entry.lastActivity + keepAliveIntervalMs
        : Infinity;
    const at = Math.min(idleAt, pingAt);
    entry.timer = setTimeout(
      () => this.#onTimer(entry, at === idleAt),
      Math.max(0, at - Date.now()),
    );
    entry.timer.unref();
  }

  #onTimer(entry: Entry<C>, expired: boolean): void {
    entry.timer = undefined;
    const state = this.#state(entry.host);
    const at = state.idle.indexOf(entry);
    if (at < 0) return;
    state.idle.splice(at, 1);
    if (expired || this.#driver.ping === undefined) {
      this.#end(entry, true);
      return;
    }
    this.#pinging.add(entry);
    this.#driver.ping(entry.connection).then(
      () => {
        this.#pinging.delete(entry);
        entry.lastActivity = Date.now();
        if (this.#closed || !this.#driver.isAlive(entry.connection)) {
          this.#end(entry, !this.#closed);
          return;
        }
        state.idle.push(entry);
        this.#schedule(entry);
        this.#settle(entry.host);
      },
      () => {
        this.#pinging.delete(entry);
        this.#end(entry, false);
      },
    );
  }

  /** Something freed up at `host`: wake one waiter, or forget the host when nothing is left. */
  #settle(host: string): void {
    const state = this.#hosts.get(host);
    if (state === undefined) return;
    const waiter = state.waiters.shift();
    if (waiter !== undefined) waiter.wake();
    else if (state.open === 0 && state.idle.length === 0) this.#hosts.delete(host);
  }

  #wait(state: HostState<C>, signal: AbortSignal): Promise<void> {
    return new Promise<void>((resolve) => {
      const waiter: Waiter = {
        wake: () => {
          signal.removeEventListener('abort', onAbort);
          resolve();
        },
      };
      const onAbort = () => {
        const at = state.waiters.indexOf(waiter);
        if (at >= 0) state.waiters.splice(at, 1);
        resolve();
      };
      signal.addEventListener('abort', onAbort, { once: true });
      state.waiters.push(waiter);
    });
  }
}

function closedError(): DownloadError {
  return new DownloadError('The session is closed', { code: ErrorCodes.Closed });
}
