import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { OpenRequest } from '../contracts/open-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { ConnectionPool } from '../pool/connection-pool.js';
import {
  openLeased,
  type LeasedTransfer,
  type LeasedTransferDriver,
  type LeaseTarget,
} from './leased-transfer.js';

interface FakeConnection extends EventEmitter {
  id: number;
  alive: boolean;
  destroyed: boolean;
}

type Run = (transfer: LeasedTransfer<FakeConnection, LeaseTarget>) => void;

function setup(run: Run, closeEvents = false) {
  let made = 0;
  const pool = new ConnectionPool<FakeConnection, LeaseTarget>(
    {
      async connect() {
        return Object.assign(new EventEmitter(), { id: ++made, alive: true, destroyed: false });
      },
      isAlive: (c) => c.alive && !c.destroyed,
      async close(c) {
        c.alive = false;
      },
      destroy(c) {
        c.destroyed = true;
      },
    },
    { limit: 1, idleTimeoutMs: 60_000, keepAliveIntervalMs: 0 },
  );
  const driver: LeasedTransferDriver<FakeConnection, LeaseTarget> = {
    pool,
    target: () => ({ poolHost: 'h:1', poolKey: 'k' }),
    toError: (error, _target, url) =>
      new DownloadError(`mapped: ${(error as Error).message}`, { code: ErrorCodes.Internal, url }),
    run: (transfer) => run(transfer),
    ...(closeEvents ? { closeEvents: (c: FakeConnection) => c } : {}),
  };
  const open = (signal = new AbortController().signal) =>
    openLeased(driver, {
      url: new URL('x://user:pw@h:1/f'),
      offset: 0,
      headers: {},
      signal,
      attempt: 1,
      maxAttempts: 1,
      download: { url: 'x://h:1/f' },
    } as OpenRequest);
  return { pool, open };
}

const metadata: RemoteMetadata = { url: 'x://h:1/f', offset: 0, headers: {} };

async function readAll(body: AsyncIterable<Uint8Array>): Promise<string> {
  let text = '';
  for await (const chunk of body) text += Buffer.from(chunk).toString();
  return text;
}

describe('openLeased', () => {
  it('opens, streams the body and gives a kept connection back to the pool once', async () => {
    let seen: FakeConnection | undefined;
    const { pool, open } = setup((transfer) => {
      seen = transfer.connection;
      const body = transfer.body(16, () => {});
      transfer.open(metadata);
      body.push('hello');
      transfer.settle(true);
      transfer.settle(false); // only the first call counts
      body.push(null);
    });
    const resource = await open();
    expect(await readAll(resource.body)).toBe('hello');
    expect(seen?.destroyed).toBe(false);
    expect(pool.idleCount('h:1')).toBe(1);
    await pool.close();
  });

  it('rejects open with the mapped error and keeps the connection when told to', async () => {
    const { pool, open } = setup((transfer) => transfer.fail(new Error('550 no file'), true));
    await expect(open()).rejects.toMatchObject({
      message: 'mapped: 550 no file',
      url: 'x://h:1/f',
    });
    expect(pool.idleCount('h:1')).toBe(1);
    await pool.close();
  });

  it('turns a synchronous throw of run into a rejected open and a dropped connection', async () => {
    let seen: FakeConnection | undefined;
    const { pool, open } = setup((transfer) => {
      seen = transfer.connection;
      throw new Error('boom');
    });
    await expect(open()).rejects.toMatchObject({ message: 'mapped: boom' });
    expect(seen?.destroyed).toBe(true);
    expect(pool.openCount('h:1')).toBe(0);
    await pool.close();
  });

  it('fails an opened body, not open, once the body was handed out', async () => {
    let transfer: LeasedTransfer<FakeConnection, LeaseTarget> | undefined;
    const { pool, open } = setup((t) => {
      transfer = t;
      t.body(16, () => {});
      t.open(metadata);
    });
    const resource = await open();
    transfer!.fail(new Error('cut'), false);
    await expect(readAll(resource.body)).rejects.toMatchObject({ message: 'mapped: cut' });
    expect(transfer!.connection.destroyed).toBe(true);
    await pool.close();
  });

  it('ends the transfer on abort: open rejects with the abort error, the connection is destroyed', async () => {
    const controller = new AbortController();
    let seen: FakeConnection | undefined;
    const { pool, open } = setup((transfer) => {
      seen = transfer.connection;
      transfer.body(16, () => {});
    });
    const opening = open(controller.signal);
    await new Promise((resolve) => setTimeout(resolve, 5));
    controller.abort();
    await expect(opening).rejects.toMatchObject({ code: ErrorCodes.Aborted });
    expect(seen?.destroyed).toBe(true);
    await pool.close();
  });

  it('drops the connection when the reader stops early', async () => {
    let seen: FakeConnection | undefined;
    const { pool, open } = setup((transfer) => {
      seen = transfer.connection;
      const body = transfer.body(1, () => body.push('x'));
      transfer.open(metadata);
    });
    const resource = await open();
    for await (const chunk of resource.body) {
      expect(chunk.byteLength).toBe(1);
      break;
    }
    // 'close' follows the destroy on the next tick.
    await new Promise((resolve) => setImmediate(resolve));
    expect(seen?.destroyed).toBe(true);
    expect(pool.openCount('h:1')).toBe(0);
    await pool.close();
  });

  it("ends the transfer when the connection's close events fire, and stops listening once settled", async () => {
    let seen: FakeConnection | undefined;
    const { pool, open } = setup((transfer) => {
      seen = transfer.connection;
      transfer.body(16, () => {});
    }, true);
    const opening = open();
    await new Promise((resolve) => setTimeout(resolve, 5));
    seen!.emit('close');
    await expect(opening).rejects.toMatchObject({ message: 'mapped: Connection lost' });
    expect(seen!.listenerCount('close')).toBe(0);
    await pool.close();
  });

  it('does not lease when the signal already aborted', async () => {
    const { pool, open } = setup(() => expect.unreachable());
    await expect(open(AbortSignal.abort())).rejects.toMatchObject({ code: ErrorCodes.Aborted });
    expect(pool.openCount()).toBe(0);
    await pool.close();
  });
});
