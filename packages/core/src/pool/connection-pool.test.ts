import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { describe, expect, it } from 'vitest';
import { ConnectionPool, type PoolDriver } from './connection-pool.js';

interface Fake {
  readonly id: number;
  readonly key: string;
  alive: boolean;
  pings: number;
}

/** An in-memory driver that counts connections per host the way a server would. */
function driver(connectMs = 1) {
  let next = 0;
  const open = new Map<string, number>();
  let peak = 0;
  const d: PoolDriver<Fake, string> & { open: Map<string, number>; peak(): number } = {
    open,
    peak: () => peak,
    async connect(host, key) {
      open.set(host, (open.get(host) ?? 0) + 1);
      peak = Math.max(peak, open.get(host) ?? 0);
      await sleep(connectMs);
      return { id: next++, key, alive: true, pings: 0, host } as Fake & { host: string };
    },
    isAlive: (c) => c.alive,
    async close(c) {
      d.destroy(c);
    },
    destroy(c) {
      if (!c.alive && (c as Fake & { gone?: boolean }).gone) return;
      c.alive = false;
      (c as Fake & { gone?: boolean }).gone = true;
      const host = (c as Fake & { host: string }).host;
      open.set(host, (open.get(host) ?? 1) - 1);
    },
    async ping(c) {
      c.pings++;
    },
  };
  return d;
}

const never = new AbortController().signal;
// Sixty waiters share this one signal on purpose.
setMaxListeners(0, never);

describe('ConnectionPool', () => {
  it('does not lend a connection opened after its caller gave up, and keeps it for the next one', async () => {
    // The fake driver ignores the signal, as a connect that is past its last await would.
    const d = driver(30);
    const pool = new ConnectionPool(d, { limit: 1, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    const controller = new AbortController();
    const acquiring = pool.acquire('h', 'k', 'k', controller.signal);
    setTimeout(() => controller.abort(), 5);
    const error = await acquiring.then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(DownloadError.isInstance(error) && error.code).toBe(ErrorCodes.Aborted);
    expect(pool.idleCount('h')).toBe(1);
    const next = await pool.acquire('h', 'k', 'k', never);
    expect(next.reused).toBe(true);
    next.release();
    await pool.close();
  });

  it('never has more than the limit open per host under contention, and reuses connections', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 3, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    let reused = 0;
    await Promise.all(
      Array.from({ length: 60 }, async (_, i) => {
        const lease = await pool.acquire('h', 'k', 'k', never);
        if (lease.reused) reused++;
        expect(pool.openCount('h')).toBeLessThanOrEqual(3);
        await sleep(i % 3);
        lease.release();
      }),
    );
    expect(d.peak()).toBe(3);
    expect(reused).toBe(57);
    await pool.close();
    expect(d.open.get('h')).toBe(0);
  });

  it('closes an idle connection of another key to make room', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 1, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    const a = await pool.acquire('h', 'a', 'a', never);
    a.release();
    const b = await pool.acquire('h', 'b', 'b', never);
    expect(b.connection.key).toBe('b');
    expect(a.connection.alive).toBe(false);
    expect(d.peak()).toBe(1);
    b.release();
    await pool.close();
  });

  it('replaces a dead idle connection and keeps its count right', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 2, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    const first = await pool.acquire('h', 'k', 'k', never);
    first.release();
    first.connection.alive = false;
    const second = await pool.acquire('h', 'k', 'k', never);
    expect(second.reused).toBe(false);
    expect(pool.openCount('h')).toBe(1);
    second.release();
    await pool.close();
    expect(pool.openCount()).toBe(0);
  });

  it('pings idle connections and closes them after the idle timeout', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 2, idleTimeoutMs: 250, keepAliveIntervalMs: 60 });
    const lease = await pool.acquire('h', 'k', 'k', never);
    lease.release();
    await sleep(150);
    expect(lease.connection.pings).toBeGreaterThanOrEqual(1);
    expect(pool.idleCount('h')).toBe(1);
    await sleep(250);
    expect(lease.connection.alive).toBe(false);
    expect(pool.openCount()).toBe(0);
    await pool.close();
  });

  it('a waiter can be aborted, and lowering the limit holds back new connections', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 2, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    const a = await pool.acquire('h', 'k', 'k', never);
    const b = await pool.acquire('h', 'k', 'k', never);
    const controller = new AbortController();
    const waiting = pool.acquire('h', 'k', 'k', controller.signal);
    controller.abort();
    await expect(waiting).rejects.toMatchObject({ code: ErrorCodes.Aborted });
    pool.lower('h', 1);
    expect(pool.limitFor('h')).toBe(1);
    a.release();
    // Over the lowered limit: the released connection is closed, not kept.
    expect(a.connection.alive).toBe(false);
    await sleep(5);
    expect(pool.openCount('h')).toBe(1);
    b.release();
    expect(pool.idleCount('h')).toBe(1);
    await pool.close();
  });

  it('close waits for leases, rejects waiters and later acquires; destroy ends leased connections', async () => {
    const d = driver();
    const pool = new ConnectionPool(d, { limit: 1, idleTimeoutMs: 10_000, keepAliveIntervalMs: 0 });
    const lease = await pool.acquire('h', 'k', 'k', never);
    const waiter = pool.acquire('h', 'k', 'k', never);
    let closed = false;
    const closing = pool.close().then(() => (closed = true));
    const error = await waiter.catch((e: unknown) => e);
    expect(DownloadError.isInstance(error) && error.code).toBe(ErrorCodes.Closed);
    await sleep(10);
    expect(closed).toBe(false);
    lease.release();
    await closing;
    expect(lease.connection.alive).toBe(false);
    await expect(pool.acquire('h', 'k', 'k', never)).rejects.toMatchObject({
      code: ErrorCodes.Closed,
    });

    const other = new ConnectionPool(driver(), {
      limit: 1,
      idleTimeoutMs: 10_000,
      keepAliveIntervalMs: 0,
    });
    const held = await other.acquire('h', 'k', 'k', never);
    other.destroy();
    expect(held.connection.alive).toBe(false);
    held.discard();
  });
});
