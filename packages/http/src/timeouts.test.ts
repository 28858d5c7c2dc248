import { createServer, type AddressInfo, type Socket } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { ErrorCodes } from '@dl/core';
import { startHttpFixture } from '@dl/testkit';
import { http, type HttpTimeouts } from './index.js';
import type { HttpSession } from './http-session.js';
import { openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';

const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function setup(timeouts: HttpTimeouts) {
  const server = await startHttpFixture({ chunkSize: 1000 });
  cleanup.push(() => server.stop());
  const adapter = http({ timeouts });
  const session = (await adapter.createSession(sessionContext())) as HttpSession;
  cleanup.push(() => session.destroy());
  return { server, adapter, session };
}

/** A trickling body: `chunks` writes of 100 bytes, `everyMs` apart. */
function trickle(chunks: number, everyMs: number) {
  return (_req: unknown, res: import('node:http').ServerResponse) => {
    res.writeHead(200, { 'content-length': String(chunks * 100) });
    let sent = 0;
    const timer = setInterval(() => {
      if (res.destroyed) return clearInterval(timer);
      res.write(Buffer.alloc(100, 1));
      if (++sent === chunks) {
        clearInterval(timer);
        res.end();
      }
    }, everyMs);
    res.on('close', () => clearInterval(timer));
  };
}

describe('timeouts', () => {
  it('connect: a TLS handshake that never completes', async () => {
    const sockets = new Set<Socket>();
    const silent = createServer((socket) => {
      sockets.add(socket);
      socket.on('error', () => {});
    });
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    cleanup.push(async () => {
      for (const s of sockets) s.destroy();
      await new Promise((resolve) => silent.close(resolve));
    });
    const adapter = http({ timeouts: { connect: 200 } });
    const session = (await adapter.createSession(sessionContext())) as HttpSession;
    cleanup.push(() => session.destroy());
    const started = Date.now();
    const { port } = silent.address() as AddressInfo;
    const error = await rejectionOf(
      adapter.open(session, openRequest(`https://127.0.0.1:${port}/x`)),
    );
    expect(error.code).toBe(ErrorCodes.Timeout);
    expect(error.retryable).toBe(true);
    expect(Date.now() - started).toBeLessThan(3000);
  });

  it('headers: a server that stalls before answering', async () => {
    const { server, adapter, session } = await setup({ headers: 200 });
    server.put('/f', Buffer.alloc(10));
    server.fault('/f', { stallMs: 3000 });
    const started = Date.now();
    const error = await rejectionOf(adapter.open(session, openRequest(server.url('/f'))));
    expect(error.code).toBe(ErrorCodes.Timeout);
    expect(error.message).toMatch(/headers/);
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it('idle: a body that stops flowing', async () => {
    const { server, adapter, session } = await setup({ idle: 200 });
    server.put('/f', Buffer.alloc(10_000));
    server.fault('/f', { stallAfter: 2000, stallMs: 3000 });
    const resource = await adapter.open(session, openRequest(server.url('/f')));
    const error = await rejectionOf(readAll(resource.body));
    expect(error.code).toBe(ErrorCodes.Timeout);
    expect(error.message).toMatch(/idle/);
  });

  it('no total timeout by default: a slow but steady body completes', async () => {
    const { server, adapter, session } = await setup({ idle: 300 });
    server.route('/slow', trickle(12, 50));
    const resource = await adapter.open(session, openRequest(server.url('/slow')));
    expect((await readAll(resource.body)).length).toBe(1200);
  });

  it('total: opt-in, ends a steady body that takes too long', async () => {
    const { server, adapter, session } = await setup({ total: 250 });
    server.route('/slow', trickle(40, 50));
    const resource = await adapter.open(session, openRequest(server.url('/slow')));
    const error = await rejectionOf(readAll(resource.body));
    expect(error.code).toBe(ErrorCodes.Timeout);
    expect(error.message).toMatch(/total/);
    expect(error.retryable).toBe(true);
  });
});
