/**
 * What an adapter's `createSession` returns: the holder of that adapter's
 * shared resources (connection pools, logged-in connections, auth tokens).
 * The core wraps it (see {@link Session}), so an adapter only implements
 * what is below; `close` is called at most once.
 */
export interface AdapterSession {
  /** Graceful: let transfers in flight finish, then free every connection. */
  close(): Promise<void> | void;
  /** Abrupt: end every transfer and connection now. Defaults to `close`. */
  destroy?(): Promise<void> | void;
  /**
   * How many transfers this session can carry at once to `origin` now, when
   * that is lower than the factory's per-host limit (an FTP server that said
   * "421 too many users"). The scheduler never exceeds it. Counted in
   * connections, like the per-host limit, when a connection carries more
   * than one transfer (see {@link AdapterSession.transfersPerConnection}).
   */
  maxTransfers?(origin: string): number | undefined;
  /**
   * How many transfers one connection to `origin` carries at once now, when
   * the session learned it differs from the adapter's
   * `capabilities.transfersPerConnection`: an HTTP/2 connection (ALPN `h2`)
   * multiplexes many streams. The factory then admits up to the per-host
   * limit times this many transfers to `origin`, while the session keeps to
   * `maxConnectionsPerHost` connections. Cheap; called freely.
   */
  transfersPerConnection?(origin: string): number | undefined;
}

/**
 * The shared resources of one adapter and configuration, created once by the
 * factory and shared by every download (and by the streamer). Closing is
 * idempotent; calls after close are rejected with code `closed`.
 */
export interface Session extends AsyncDisposable {
  /** The adapter this session belongs to. */
  readonly adapter: string;
  /** True once `close` or `destroy` was called. */
  readonly closed: boolean;
  /** Graceful: waits for transfers in flight, then frees every resource. Idempotent. */
  close(): Promise<void>;
  /** Abrupt: aborts transfers in flight and frees every resource now. Idempotent. */
  destroy(): Promise<void>;
}

/** What the factory tells an adapter when it creates its session. */
export interface SessionContext {
  /** The factory's per-host limit: the adapter must never open more connections to one origin. */
  readonly maxConnectionsPerHost: number;
  /** The factory's total limit. */
  readonly maxConnections: number;
  /** `User-Agent`-style identification: `dl/<version>` plus what the caller appended. */
  readonly userAgent: string;
  /** Aborted when the session is destroyed. */
  readonly signal: AbortSignal;
  /** Where to write diagnostics (never secrets). */
  readonly log: import('./logger.js').Logger;
  /**
   * An idle pooled connection must be closed within this many milliseconds
   * of its last transfer; undefined: the adapter's own idle timeout.
   *
   * Set together with `connectionGate`: an idle connection holds a fleet
   * slot of its host, so it must not idle for long. Every adapter that keeps
   * connections open between transfers (keep-alive sockets, logged-in
   * sessions) must honour it: use the lower of its own idle timeout and this.
   */
  readonly maxIdleMs?: number;
  /**
   * Set when the factory's budget counts connections (a fleet-wide budget
   * on Redis, `AdmissionBudget.connections`). Every adapter must call
   * `acquire(origin)` before opening a connection to `origin` and call the
   * returned function exactly once when that connection is closed (also
   * when the connect failed); an aborted `acquire` holds nothing.
   */
  readonly connectionGate?: ConnectionGate;
}

/**
 * Leases for connections, handed to adapters by the factory (see
 * {@link SessionContext.connectionGate}).
 */
export interface ConnectionGate {
  /**
   * Call before opening a connection to `origin` (`scheme://host:port`);
   * resolves with the function to call exactly once when that connection is
   * closed. Rejects (holding nothing) when `signal` aborts.
   */
  acquire(origin: string, signal?: AbortSignal): Promise<() => void>;
  /**
   * Whether a connection to `origin` should be closed after its current use
   * (its reuse would keep this process above its fair share of the host
   * while another process waits). A true answer counts: ask once per
   * connection, when it can then be closed (an idle connection about to be
   * reused, a request about to be sent), and close it. Optional.
   */
  retire?(origin: string): boolean;
}
