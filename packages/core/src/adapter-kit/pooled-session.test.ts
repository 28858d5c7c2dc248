import { describe, expect, it } from 'vitest';
import type { SessionContext } from '../contracts/session.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import { gatedDriver, poolLimit, pooledSession } from './pooled-session.js';

const context = { maxConnectionsPerHost: 4 } as SessionContext;

describe('poolLimit', () => {
  it("takes the adapter's limit when lower, the factory's otherwise, never below 1", () => {
    expect(poolLimit(context, undefined)).toBe(4);
    expect(poolLimit(context, 2)).toBe(2);
    expect(poolLimit(context, 9)).toBe(4);
    expect(poolLimit({ maxConnectionsPerHost: 0 } as SessionContext, undefined)).toBe(1);
  });
});

describe('pooledSession', () => {
  it('counts by origin, reports a lowered limit as maxTransfers, and closes the pool', async () => {
    const pool = new ConnectionPool<{ alive: boolean }, string>(
      {
        connect: async () => ({ alive: true }),
        isAlive: (c) => c.alive,
        close: async (c) => void (c.alive = false),
        destroy: (c) => void (c.alive = false),
      },
      { limit: 4, idleTimeoutMs: 60_000, keepAliveIntervalMs: 0 },
    );
    const hostOf = (origin: string) =>
      origin.startsWith('x://') ? `${new URL(origin).hostname}:1` : undefined;
    const session = pooledSession(pool, context, hostOf);
    const lease = await pool.acquire('h:1', 'k', 'spec', new AbortController().signal);
    expect(session.connections('x://h')).toBe(1);
    expect(session.connections()).toBe(1);
    expect(session.idleConnections('x://h')).toBe(0);
    expect(session.maxTransfers('x://h')).toBeUndefined();
    pool.lower('h:1', 2);
    expect(session.maxTransfers('x://h')).toBe(2);
    expect(session.maxTransfers('other://h')).toBeUndefined();
    lease.release();
    expect(session.idleConnections('x://h')).toBe(1);
    await session.close();
    expect(pool.closed).toBe(true);
  });

  it('maps each origin to its pool host once, the ones it does not serve included', () => {
    const pool = new ConnectionPool<object, string>(
      {
        connect: async () => ({}),
        isAlive: () => true,
        close: async () => {},
        destroy: () => {},
      },
      { limit: 4, idleTimeoutMs: 60_000, keepAliveIntervalMs: 0 },
    );
    const asked: string[] = [];
    const session = pooledSession(pool, context, (origin) => {
      asked.push(origin);
      return origin.startsWith('x://') ? `${new URL(origin).hostname}:1` : undefined;
    });
    pool.lower('h:1', 2);
    for (let i = 0; i < 3; i++) {
      expect(session.maxTransfers('x://h')).toBe(2);
      expect(session.maxTransfers('other://h')).toBeUndefined();
      expect(session.connections('x://h')).toBe(0);
    }
    expect(asked).toEqual(['x://h', 'other://h']);
  });
});

describe('gatedDriver', () => {
  it('holds a lease per connection from before connect until close or destroy; a failed or aborted connect holds nothing', async () => {
    const held = new Map<string, number>();
    const gate = {
      acquire: async (origin: string, signal?: AbortSignal) => {
        if (signal?.aborted) throw new Error('aborted');
        held.set(origin, (held.get(origin) ?? 0) + 1);
        return () => void held.set(origin, held.get(origin)! - 1);
      },
    };
    const driver = gatedDriver(
      {
        connect: async (_host: string, spec: string) => {
          if (spec === 'bad') throw new Error('refused');
          return { alive: true };
        },
        isAlive: (c: { alive: boolean }) => c.alive,
        close: async (c: { alive: boolean }) => void (c.alive = false),
        destroy: (c: { alive: boolean }) => void (c.alive = false),
      },
      { ...context, connectionGate: gate },
      (host) => `x://${host}`,
    );
    const live = new AbortController().signal;
    const a = await driver.connect('h:1', 'ok', live);
    const b = await driver.connect('h:1', 'ok', live);
    expect(held.get('x://h:1')).toBe(2);
    await expect(driver.connect('h:1', 'bad', live)).rejects.toThrow('refused');
    await expect(driver.connect('h:1', 'ok', AbortSignal.abort())).rejects.toThrow('aborted');
    expect(held.get('x://h:1')).toBe(2);
    await driver.close(a);
    driver.destroy(b);
    driver.destroy(b);
    expect(held.get('x://h:1')).toBe(0);
    const plain = {
      connect: async () => 1,
      isAlive: () => true,
      close: async () => {},
      destroy: () => {},
    };
    expect(gatedDriver(plain, context, () => 'x://h:1')).toBe(plain);
  });
});
