import type { AdapterSession, SessionContext } from '../contracts/session.js';
import type { ConnectionPool, PoolDriver } from '../pool/connection-pool.js';

/** A session whose connections are pooled per host: what it shows for diagnostics. */
export interface PooledSession extends AdapterSession {
  /** Connections open (or opening) now, to one origin (`ftp://host:port`) or in all. */
  connections(origin?: string): number;
  /** Idle pooled connections now, to one origin or in all. */
  idleConnections(origin?: string): number;
}

/**
 * The pool's per-host limit: the factory's, or the adapter's own
 * `maxConnectionsPerHost` when that is lower (servers that allow only a few
 * connections per address), and never below 1.
 */
export function poolLimit(
  context: SessionContext,
  maxConnectionsPerHost: number | undefined,
): number {
  return Math.max(1, Math.min(context.maxConnectionsPerHost, maxConnectionsPerHost ?? Infinity));
}

/**
 * The pool's idle timeout: the adapter's own (`idleTimeoutMs`, or its
 * default), lowered to the factory's `maxIdleMs` when that is set and lower.
 */
export function poolIdleTimeout(context: SessionContext, idleTimeoutMs: number): number {
  return Math.max(0, Math.min(idleTimeoutMs, context.maxIdleMs ?? Infinity));
}

/**
 * The session members of a pooled adapter, over its pool: connection counts
 * by origin, `maxTransfers` (the pool's limit for a host once it is below the
 * factory's, e.g. lowered after "421 too many users", so that the scheduler
 * queues instead of opening connections the server refuses), and
 * `close`/`destroy`. `poolHostOf` maps an origin to the pool's host key, or
 * undefined for one the adapter does not serve.
 */
export function pooledSession<C, S>(
  pool: ConnectionPool<C, S>,
  context: SessionContext,
  poolHostOf: (origin: string) => string | undefined,
): PooledSession & Required<Pick<AdapterSession, 'maxTransfers' | 'destroy'>> {
  // The scheduler asks per download; parsing the origin each time showed in the profiles.
  const known = new Map<string, string | undefined>();
  const poolHost = (origin: string) => {
    const host = known.get(origin);
    if (host !== undefined || known.has(origin)) return host;
    if (known.size >= 256) known.clear();
    const parsed = poolHostOf(origin);
    known.set(origin, parsed);
    return parsed;
  };
  const hostOf = (origin: string | undefined) =>
    origin === undefined ? undefined : (poolHost(origin) ?? origin);
  return {
    connections: (origin) => pool.openCount(hostOf(origin)),
    idleConnections: (origin) => pool.idleCount(hostOf(origin)),
    maxTransfers(origin) {
      const host = poolHost(origin);
      if (host === undefined) return undefined;
      const limit = pool.limitFor(host);
      return limit < context.maxConnectionsPerHost ? limit : undefined;
    },
    close: () => pool.close(),
    destroy: () => pool.destroy(),
  };
}

/**
 * `driver`, holding a lease of the factory's connection gate
 * (`context.connectionGate`, set when a fleet-wide budget counts
 * connections) for every connection it opens: taken before `connect`, given
 * back when the connect fails (or its wait aborts) or the connection is
 * closed or destroyed. `originOf` names the origin (`scheme://host:port`) a
 * connection to `host` for `spec` counts against. Without a gate, `driver`
 * itself.
 */
export function gatedDriver<C, S>(
  driver: PoolDriver<C, S>,
  context: SessionContext,
  originOf: (host: string, spec: S) => string,
): PoolDriver<C, S> {
  const gate = context.connectionGate;
  if (gate === undefined) return driver;
  const leases = new Map<C, () => void>();
  const origins = new Map<C, string>();
  /** Connections told to close for the fleet's fair share. */
  const retired = new Set<C>();
  const giveBack = (connection: C) => {
    origins.delete(connection);
    retired.delete(connection);
    const release = leases.get(connection);
    leases.delete(connection);
    release?.();
  };
  return {
    async connect(host, spec, signal) {
      const origin = originOf(host, spec);
      const release = await gate.acquire(origin, signal);
      let connection: C;
      try {
        connection = await driver.connect(host, spec, signal);
      } catch (error) {
        release();
        throw error;
      }
      leases.set(connection, once(release));
      origins.set(connection, origin);
      return connection;
    },
    // The pool asks before it reuses or keeps a connection: one over this process's share is not.
    isAlive(connection) {
      if (!driver.isAlive(connection)) return false;
      if (retired.has(connection)) return false;
      const origin = origins.get(connection);
      if (origin === undefined || gate.retire?.(origin) !== true) return true;
      retired.add(connection);
      return false;
    },
    async close(connection) {
      try {
        await driver.close(connection);
      } finally {
        giveBack(connection);
      }
    },
    destroy(connection) {
      try {
        driver.destroy(connection);
      } finally {
        giveBack(connection);
      }
    },
    ...(driver.ping === undefined ? {} : { ping: (connection: C) => driver.ping!(connection) }),
  };
}

function once(fn: () => void): () => void {
  let done = false;
  return () => {
    if (done) return;
    done = true;
    fn();
  };
}
