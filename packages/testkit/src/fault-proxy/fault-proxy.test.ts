import { once } from 'node:events';
import { createServer, connect, type AddressInfo, type Server, type Socket } from 'node:net';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { activeResources, resourceGrowth } from '../active-resources.js';
import { generatedContent } from '../generated-content.js';
import { waitFor } from '../wait-for.js';
import { startFaultProxy, type FaultProxy } from './fault-proxy.js';
import type { FaultProxyOptions } from './fault-proxy-options.js';

const PAYLOAD = generatedContent('/payload', 200_000);

/** A server that sends PAYLOAD to each connection and then ends it (or echoes, for `echo`). */
async function startSource(echo = false): Promise<Server & { port: number }> {
  const server = createServer({ allowHalfOpen: true }, (socket) => {
    socket.on('error', () => {});
    if (echo) socket.pipe(socket);
    else socket.end(PAYLOAD);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return Object.assign(server, { port: (server.address() as AddressInfo).port });
}

interface Received {
  readonly data: Buffer;
  readonly error: NodeJS.ErrnoException | undefined;
  readonly ms: number;
}

/** Connects to `port`, optionally sends `send`, reads until the end or an error. */
async function receive(port: number, send?: Buffer): Promise<Received> {
  const started = Date.now();
  const socket = connect({ host: '127.0.0.1', port });
  const chunks: Buffer[] = [];
  socket.on('data', (chunk: Buffer) => chunks.push(chunk));
  if (send !== undefined) socket.end(send);
  let error: NodeJS.ErrnoException | undefined;
  socket.on('error', (e) => (error = e));
  // Not events.once: it rejects on 'error', which is what some tests wait for.
  await new Promise((resolve) => socket.once('close', resolve));
  return { data: Buffer.concat(chunks), error, ms: Date.now() - started };
}

let source: Server & { port: number };
let proxy: FaultProxy | undefined;

beforeAll(async () => {
  source = await startSource();
  return () => new Promise<void>((resolve) => source.close(() => resolve()));
});

afterEach(async () => {
  await proxy?.stop();
  proxy = undefined;
});

async function proxyWith(options: Omit<FaultProxyOptions, 'target'>, port = source.port) {
  proxy = await startFaultProxy({ target: { host: '127.0.0.1', port }, ...options });
  return proxy;
}

describe('startFaultProxy', () => {
  it('forwards both ways untouched without faults and counts bytes and connections', async () => {
    const echo = await startSource(true);
    try {
      const p = await proxyWith({}, echo.port);
      const sent = generatedContent('/echo', 300_000);
      const got = await receive(p.port, Buffer.from(sent));
      expect(got.error).toBeUndefined();
      expect(got.data.equals(Buffer.from(sent))).toBe(true);
      await waitFor(() => p.stats().open === 0);
      expect(p.stats()).toMatchObject({
        connections: 1,
        faults: 0,
        bytesToClient: sent.length,
        bytesToServer: sent.length,
      });
    } finally {
      await new Promise((resolve) => echo.close(resolve));
    }
  });

  it('corrupt flips exactly the byte at the offset and goes on', async () => {
    const p = await proxyWith({ rules: [{ kind: 'corrupt', at: 70_001 }] });
    const got = await receive(p.port);
    expect(got.data.length).toBe(PAYLOAD.length);
    const differing = [...got.data.keys()].filter((i) => got.data[i] !== PAYLOAD[i]);
    expect(differing).toEqual([70_001]);
    expect(got.data[70_001]).toBe(PAYLOAD[70_001]! ^ 0xff);
    expect(p.stats().faultsByKind.corrupt).toBe(1);
  });

  it('truncate ends the stream cleanly at the offset', async () => {
    const p = await proxyWith({ rules: [{ kind: 'truncate', at: 12_345 }] });
    const got = await receive(p.port);
    expect(got.error).toBeUndefined();
    expect(got.data.equals(Buffer.from(PAYLOAD.subarray(0, 12_345)))).toBe(true);
  });

  it('reset sends a TCP RST at the offset', async () => {
    const p = await proxyWith({ rules: [{ kind: 'reset', at: 50_000 }] });
    const got = await receive(p.port);
    expect(got.error?.code).toBe('ECONNRESET');
    expect(got.data.equals(Buffer.from(PAYLOAD.subarray(0, 50_000)))).toBe(true);
    expect(p.stats().faultsByKind.reset).toBe(1);
  });

  it('stall stops forwarding for stallMs, then delivers every byte', async () => {
    const p = await proxyWith({ rules: [{ kind: 'stall', at: 1000, stallMs: 300 }] });
    const got = await receive(p.port);
    expect(got.error).toBeUndefined();
    expect(got.data.equals(Buffer.from(PAYLOAD))).toBe(true);
    expect(got.ms).toBeGreaterThanOrEqual(290);
  });

  it('a client that closes a stalled connection closes it on the server side too', async () => {
    const closed: Promise<void>[] = [];
    const server = createServer((socket) => {
      socket.on('error', () => {});
      closed.push(new Promise((resolve) => socket.once('close', () => resolve())));
      socket.write(PAYLOAD.subarray(0, 1000));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const p = await proxyWith(
        { rules: [{ kind: 'stall', at: 500 }] },
        (server.address() as AddressInfo).port,
      );
      const client = connect({ host: '127.0.0.1', port: p.port });
      await waitFor(() => p.stats().faults === 1);
      client.end();
      await waitFor(() => p.stats().open === 0);
      await Promise.all(closed);
      client.destroy();
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });

  it('rules pick connections by index; setFaults changes only new connections', async () => {
    const p = await proxyWith({ rules: [{ kind: 'truncate', at: 10, connection: 1 }] });
    expect((await receive(p.port)).data.length).toBe(PAYLOAD.length);
    expect((await receive(p.port)).data.length).toBe(10);
    expect((await receive(p.port)).data.length).toBe(PAYLOAD.length);
    p.setFaults({ rules: [{ kind: 'truncate', at: 20 }] });
    expect((await receive(p.port)).data.length).toBe(20);
    p.setFaults({});
    expect((await receive(p.port)).data.length).toBe(PAYLOAD.length);
    expect(p.stats().connections).toBe(5);
  });

  it('a seeded random schedule injects faults at a rate close to its mean, the same for the same seed', async () => {
    const run = async () => {
      const p = await proxyWith({
        seed: 42,
        random: { meanBytesBetweenFaults: 20_000, kinds: { corrupt: 1 } },
      });
      const received: Buffer[] = [];
      for (let i = 0; i < 5; i++) received.push((await receive(p.port)).data);
      const stats = p.stats();
      await p.stop();
      return { received, faults: stats.faults };
    };
    const first = await run();
    const second = await run();
    // 1,000,000 bytes at one fault per 20,000 on average: about 50.
    expect(first.faults).toBeGreaterThan(25);
    expect(first.faults).toBeLessThan(90);
    expect(second.faults).toBe(first.faults);
    expect(Buffer.concat(second.received).equals(Buffer.concat(first.received))).toBe(true);
  });

  it('stop() ends stalled connections and closes its port; nothing stays open', async () => {
    const baseline = activeResources();
    const p = await proxyWith({ rules: [{ kind: 'stall', at: 100 }] });
    const pending = receive(p.port);
    await waitFor(() => p.stats().faults === 1);
    await p.stop();
    const got = await pending;
    expect(got.data.length).toBe(100);
    expect(p.stats().open).toBe(0);
    await waitFor(() => resourceGrowth(baseline).length === 0, {
      message: () => `left open: ${resourceGrowth(baseline).join(', ')}`,
    });
  });

  it('a target that refuses connections resets the client', async () => {
    const closed = await startSource();
    const port = closed.port;
    await new Promise((resolve) => closed.close(resolve));
    const p = await proxyWith({}, port);
    const got = await receive(p.port);
    expect(got.error?.code).toBe('ECONNRESET');
  });
});

describe('startFaultProxy with ftp: true', () => {
  /** A fake FTP server: answers PASV or EPSV with a data port that sends PAYLOAD. */
  async function startFakeFtp(): Promise<{ port: number; close(): Promise<void> }> {
    const data = await startSource();
    const control = createServer((socket: Socket) => {
      socket.on('error', () => {});
      socket.write('220 fake\r\n');
      socket.setEncoding('latin1').on('data', (line: string) => {
        if (line.startsWith('PASV')) {
          // Split across writes, as a reply may arrive in pieces.
          socket.write('227 Entering Passive Mode (127,0,');
          socket.write(`0,1,${data.port >> 8},${data.port & 0xff}).\r\n`);
        } else if (line.startsWith('EPSV')) {
          socket.write(`229 Entering Extended Passive Mode (|||${data.port}|)\r\n`);
        } else if (line.startsWith('QUIT')) {
          socket.end('221 bye\r\n');
        }
      });
    });
    await new Promise<void>((resolve) => control.listen(0, '127.0.0.1', resolve));
    return {
      port: (control.address() as AddressInfo).port,
      close: async () => {
        await new Promise((resolve) => control.close(resolve));
        await new Promise((resolve) => data.close(resolve));
      },
    };
  }

  /** Sends `command`, waits for the reply line starting with `code`. */
  async function ask(socket: Socket, command: string, code: string): Promise<string> {
    let text = '';
    const reply = new Promise<string>((resolve) => {
      const onData = (chunk: Buffer) => {
        text += chunk.toString('latin1');
        const line = text.split('\r\n').find((l) => l.startsWith(code));
        if (line !== undefined) {
          socket.off('data', onData);
          resolve(line);
        }
      };
      socket.on('data', onData);
    });
    socket.write(`${command}\r\n`);
    return reply;
  }

  it('rewrites 227 and 229 replies to per-transfer ports whose data connections get the data faults', async () => {
    const ftp = await startFakeFtp();
    try {
      const p = await proxyWith(
        { ftp: true, rules: [{ kind: 'corrupt', at: 5, channel: 'data', connection: 1 }] },
        ftp.port,
      );
      const control = connect({ host: '127.0.0.1', port: p.port });
      await once(control, 'data');

      const pasv = await ask(control, 'PASV', '227');
      const match = /\(127,0,0,1,(\d+),(\d+)\)/.exec(pasv);
      expect(match).not.toBeNull();
      const pasvPort = Number(match![1]) * 256 + Number(match![2]);
      expect(pasvPort).not.toBe(p.port);
      const first = await receive(pasvPort);
      expect(first.data.equals(Buffer.from(PAYLOAD))).toBe(true);

      const epsv = await ask(control, 'EPSV', '229');
      const epsvPort = Number(/\(\|\|\|(\d+)\|\)/.exec(epsv)![1]);
      const second = await receive(epsvPort);
      expect(second.data[5]).toBe(PAYLOAD[5]! ^ 0xff);
      expect(second.data.subarray(6).equals(Buffer.from(PAYLOAD.subarray(6)))).toBe(true);

      expect(p.stats()).toMatchObject({ connections: 1, dataConnections: 2, faults: 1 });
      // A passive port nobody connects to closes with its control connection.
      await ask(control, 'EPSV', '229');
      expect(p.stats().dataPorts).toBe(1);
      await ask(control, 'QUIT', '221');
      await waitFor(() => p.stats().open === 0 && p.stats().dataPorts === 0);
      control.destroy();
    } finally {
      await ftp.close();
    }
  });
});
