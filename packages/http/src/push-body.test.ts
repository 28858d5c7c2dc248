import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { createServer as createNetServer, type AddressInfo, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterEach, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  ErrorCodes,
  isPushable,
  type BodyConsumer,
  type PushableBody,
} from '@dl/core';
import { openRequest, readAll, rejectionOf, sessionContext } from '@dl/testkit';
import { http, type HttpAdapterOptions } from './index.js';
import type { HttpSession } from './http-session.js';

const MiB = 1024 * 1024;
const cleanup: (() => Promise<unknown>)[] = [];
afterEach(async () => {
  for (const fn of cleanup.splice(0).reverse()) await fn();
});

async function listen(
  handler: (req: IncomingMessage, res: ServerResponse) => void,
): Promise<{ url: string; closed: Promise<void>[] }> {
  const closed: Promise<void>[] = [];
  const server = createServer((req, res) => {
    closed.push(new Promise((resolve) => res.on('close', resolve)));
    handler(req, res);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(
    () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(resolve);
      }),
  );
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`, closed };
}

/** A raw TCP server answering every request with `answer(socket)`. */
async function listenRaw(answer: (socket: Socket) => void): Promise<string> {
  const sockets = new Set<Socket>();
  const server = createNetServer((socket) => {
    sockets.add(socket);
    socket.on('error', () => {});
    socket.once('data', () => answer(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanup.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/f`;
}

async function session(options: HttpAdapterOptions = {}) {
  const adapter = http(options);
  const s = (await adapter.createSession(sessionContext())) as HttpSession;
  cleanup.push(() => s.destroy());
  return { adapter, session: s };
}

/** A consumer that is busy for `ms` on every `every`-th chunk, and collects what it took. */
function slowConsumer(every: number, ms: number) {
  const chunks: Buffer[] = [];
  let calls = 0;
  let busy = false;
  let overlapped = false;
  const consumer: BodyConsumer = {
    data(chunk) {
      if (busy) overlapped = true;
      chunks.push(Buffer.from(chunk));
      if (++calls % every !== 0) return;
      busy = true;
      return new Promise<void>((resolve) =>
        setTimeout(() => {
          busy = false;
          resolve();
        }, ms),
      );
    },
  };
  return {
    consumer,
    body: () => Buffer.concat(chunks),
    overlapped: () => overlapped,
  };
}

const sha = (data: Buffer) => createHash('sha256').update(data).digest('hex');

describe('http push bodies', () => {
  it('pauses the socket while the consumer is busy, and delivers every byte in order', async () => {
    const data = randomBytes(32 * MiB);
    let written = 0;
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(data.length) });
      const step = () => {
        while (written < data.length) {
          const part = data.subarray(written, written + 64 * 1024);
          written += part.length;
          if (!res.write(part)) return void res.once('drain', step);
        }
        res.end();
      };
      step();
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(url));
    expect(isPushable(resource.body)).toBe(true);
    let held = 0;
    const slow = slowConsumer(50, 2);
    const first: BodyConsumer = {
      data(chunk) {
        if (held > 0) return slow.consumer.data(chunk);
        held = 1;
        slow.consumer.data(chunk);
        // Busy for a while on the first chunk: the server must be held back meanwhile.
        return new Promise<void>((resolve) =>
          setTimeout(() => {
            held = written;
            resolve();
          }, 300),
        );
      },
    };
    await (resource.body as PushableBody).pushTo(first);
    expect(held).toBeLessThan(data.length / 2);
    expect(slow.overlapped()).toBe(false);
    expect(sha(slow.body())).toBe(sha(data));
  });

  it('an abort mid-body rejects with aborted and closes the connection', async () => {
    const { url, closed } = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(64 * MiB) });
      const timer = setInterval(() => res.write(Buffer.alloc(64 * 1024)), 5);
      res.on('close', () => clearInterval(timer));
    });
    const { adapter, session: s } = await session();
    const controller = new AbortController();
    const resource = await adapter.open(s, openRequest(url, { signal: controller.signal }));
    let bytes = 0;
    const error = await rejectionOf(
      (resource.body as PushableBody).pushTo({
        data(chunk) {
          bytes += chunk.byteLength;
          if (bytes > MiB) controller.abort();
        },
      }),
    );
    expect(error.code).toBe(ErrorCodes.Aborted);
    await closed[0];
  });

  it('a server that closes mid-body fails with a retryable protocol-error', async () => {
    const url = await listenRaw((socket) => {
      socket.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\nConnection: keep-alive\r\n\r\n');
      socket.end(Buffer.alloc(40_000, 7));
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(url));
    const slow = slowConsumer(1, 5);
    const error = await rejectionOf((resource.body as PushableBody).pushTo(slow.consumer));
    expect(error.code).toBe(ErrorCodes.ProtocolError);
    expect(error.retryable).toBe(true);
    expect(slow.body().length).toBeLessThanOrEqual(40_000);
  });

  it.each([
    ['HTTP/1.0, delimited by the close', 'HTTP/1.0 200 OK\r\n\r\n'],
    ['HTTP/1.0 with a Content-Length', 'HTTP/1.0 200 OK\r\nContent-Length: LENGTH\r\n\r\n'],
    [
      'HTTP/1.1 with Connection: close',
      'HTTP/1.1 200 OK\r\nContent-Length: LENGTH\r\nConnection: close\r\n\r\n',
    ],
  ])('%s: a slow consumer gets the whole body', async (_name, head) => {
    const data = randomBytes(3 * MiB);
    const url = await listenRaw((socket) => {
      socket.write(head.replace('LENGTH', String(data.length)));
      socket.end(data);
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(url));
    const slow = slowConsumer(4, 3);
    await (resource.body as PushableBody).pushTo(slow.consumer);
    expect(sha(slow.body())).toBe(sha(data));
  });

  it('a consumer that rejects fails the body with its error and frees the connection', async () => {
    const { url, closed } = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(8 * MiB) });
      res.end(Buffer.alloc(8 * MiB));
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(url));
    const refusal = Object.assign(new Error('disk full'), { code: 'ENOSPC' });
    const error = await rejectionOf(
      (resource.body as PushableBody).pushTo({ data: () => Promise.reject(refusal) }),
    );
    expect(error).toBe(refusal);
    await closed[0];
  });

  it('a pushable body still reads as an iterable', async () => {
    const data = randomBytes(2 * MiB);
    const { url } = await listen((_req, res) => {
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(data);
    });
    const { adapter, session: s } = await session();
    const resource = await adapter.open(s, openRequest(url));
    expect(isPushable(resource.body)).toBe(true);
    expect(sha(await readAll(resource.body))).toBe(sha(data));
  });

  it('a decoded body is iterated (not pushed) and decoded', async () => {
    const data = Buffer.from('hello, decoded world '.repeat(5000));
    const { url } = await listen((_req, res) => {
      const gz = gzipSync(data);
      res.writeHead(200, { 'content-encoding': 'gzip', 'content-length': String(gz.length) });
      res.end(gz);
    });
    const { adapter, session: s } = await session({ decode: true });
    const resource = await adapter.open(s, openRequest(url));
    expect(isPushable(resource.body)).toBe(false);
    expect((await readAll(resource.body)).equals(data)).toBe(true);
  });

  it('through a factory: download() pushes to a file, open() streams, a range is cut out', async () => {
    const data = randomBytes(MiB + 123);
    const { url } = await listen((_req, res) => {
      // Ranges ignored: the range is cut out of the whole body.
      res.writeHead(200, { 'content-length': String(data.length) });
      res.end(data);
    });
    const dir = await mkdtemp(join(tmpdir(), 'dl-push-'));
    cleanup.push(() => rm(dir, { recursive: true, force: true }));
    const factory = createDownloaderFactory({ adapters: [http()] });
    cleanup.push(() => factory.close());
    const destination = join(dir, 'f.bin');
    const result = await factory.download({ url, destination, digests: { sha256: sha(data) } });
    expect(result.size).toBe(data.length);
    expect((await readFile(destination)).equals(data)).toBe(true);
    const opened = await factory.open({ url });
    expect(sha(await readAll(opened.body))).toBe(sha(data));
    const ranged = await factory.open({ url, range: { start: 1000, end: 1999 } });
    expect((await readAll(ranged.body)).equals(data.subarray(1000, 2000))).toBe(true);
  });
});
