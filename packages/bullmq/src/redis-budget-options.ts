import type { Logger } from '@dl/core';
import type { Redis, RedisOptions } from 'ioredis';

/** What {@link redisBudget} is built from. Redis holds no secret: only lease ids, origins and pauses. */
export interface RedisBudgetOptions {
  /**
   * Where Redis is: an ioredis `Redis` instance (the budget duplicates it and
   * leaves the instance itself alone), a `redis://` URL, or ioredis options.
   * The budget opens two connections of its own (commands, and a subscriber
   * for release notices), set to wait out a lost connection
   * (`maxRetriesPerRequest: null`, offline queue on), and closes them in `close()`.
   */
  readonly connection: Redis | string | RedisOptions;
  /**
   * Prefix of every key and channel: `{prefix}:lease:{origin}`,
   * `{prefix}:pause:{origin}`, `{prefix}:limit:{origin}`, `{prefix}:rate`,
   * `{prefix}:rate:{origin}`, `{prefix}:released`. Workers that share a
   * budget use the same prefix.
   * @default 'dl'
   */
  readonly prefix?: string;
  /**
   * How long a permit's lease lives without renewal. A worker that dies
   * stops renewing, and its permits come back to the fleet within this time.
   * Must outlast a Redis outage plus one renewal period, or a live worker's
   * leases expire while Redis is away.
   * @default 10000
   */
  readonly leaseMs?: number;
  /**
   * How often the process renews all the leases it holds (one call per tick).
   * @default 2500
   */
  readonly renewEveryMs?: number;
  /**
   * The longest a waiter for a full origin sleeps before asking Redis again
   * when no release notice woke it; each sleep is drawn between half of it
   * and all of it, so workers do not ask in step.
   * @default 100
   */
  readonly pollMs?: number;
  /**
   * A quiet period: after a host signal lowered an origin's limit for the
   * fleet (halved, never below 1), the limit climbs back one step per this
   * long without a signal, counted from the end of the pause.
   * @default 5000
   */
  readonly quietMs?: number;
  /**
   * What the fleet-wide per-host limit counts.
   *
   * `connections` (the default): connections, idle ones included. The
   * budget has `connections()`, so the factory hands every adapter a
   * connection gate: each connection (an HTTP socket, an FTP control
   * connection, an SSH connection) holds a lease in Redis from before it
   * opens until it closes, and the factory caps idle connections at 1 s,
   * so an idle connection holds a fleet slot of its host for up to 1 s.
   * Transfer permits then count in each process only (its total, and the
   * per-host limit). A paused host gets neither new connections nor new
   * transfers. Every adapter must honour the gate (the bundled http, ftp
   * and sftp adapters do; HTTP through a proxy is not gated).
   *
   * `transfers`: the leases count transfers; idle pooled connections are
   * not counted, so a host may see more connections than the limit.
   * @default 'connections'
   */
  readonly lease?: 'connections' | 'transfers';
  /** Where diagnostics go (Redis trouble, leases added back). @default a logger that drops everything */
  readonly logger?: Logger;
}
