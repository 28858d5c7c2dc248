import { createServer, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { http } from '@dl/http';
import { waitFor } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDownloaderFactory,
  createStreamer,
  type DownloaderFactory,
} from '../../src/index.js';
import { openRaw, startStreamerServer, type StreamerServer } from './support.js';

const GIB = 1024 * 1024 * 1024;
const MIB = 1024 * 1024;

/** An upstream that generates 1 GiB on the fly, writing only as fast as it is read. */
interface Generator {
  readonly url: string;
  sent(): number;
  connections(): number;
  stop(): Promise<void>;
}

async function startGenerator(): Promise<Generator> {
  const block = Buffer.alloc(64 * 1024, 0x5a);
  let sent = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((_req, res) => {
    res.writeHead(200, {
      'content-type': 'application/octet-stream',
      'content-length': String(GIB),
    });
    let left = GIB;
    const pump = () => {
      while (left > 0 && !res.destroyed) {
        const n = Math.min(left, block.byteLength);
        left -= n;
        sent += n;
        if (!res.write(n === block.byteLength ? block : block.subarray(0, n))) {
          res.once('drain', pump);
          return;
        }
      }
      if (left === 0) res.end();
    };
    pump();
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/big.bin`,
    sent: () => sent,
    connections: () => sockets.size,
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

let generator: Generator;
let factory: DownloaderFactory;
let server: StreamerServer;

beforeAll(async () => {
  generator = await startGenerator();
  factory = createDownloaderFactory({ adapters: [http()] });
  server = await startStreamerServer(createStreamer({ downloader: factory }), () => ({
    url: generator.url,
    size: GIB,
  }));
});

afterAll(async () => {
  await server.stop();
  await factory.destroy();
  await generator.stop();
});

describe('backpressure', () => {
  it('a slow client of a 1 GiB upstream slows the upstream read and keeps RSS flat; leaving frees the upstream', async () => {
    globalThis.gc?.();
    const rssBefore = process.memoryUsage().rss;
    const client = await openRaw(server.url('/big.bin'));
    expect(client.res.headers['content-length']).toBe(String(GIB));

    // About 8 MiB/s: a chunk, then a pause.
    let received = 0;
    client.res.on('data', (chunk: Buffer) => {
      received += chunk.byteLength;
      client.res.pause();
      setTimeout(() => client.res.resume(), 8);
    });
    let rssPeak = rssBefore;
    const samples: number[] = [];
    const sampler = setInterval(() => {
      rssPeak = Math.max(rssPeak, process.memoryUsage().rss);
      samples.push(Math.round((process.memoryUsage().rss - rssBefore) / MIB));
    }, 50);
    await new Promise((resolve) => setTimeout(resolve, 3000));
    clearInterval(sampler);

    const sent = generator.sent();
    const growth = rssPeak - rssBefore;
    console.log(samples.join(' '));
    console.log(
      `slow client: received ${(received / MIB).toFixed(1)} MiB, upstream sent ${(sent / MIB).toFixed(1)} MiB, RSS growth ${(growth / MIB).toFixed(1)} MiB`,
    );
    expect(received).toBeGreaterThan(4 * MIB);
    // What the upstream sent beyond what the client took sits in socket buffers and one window.
    expect(sent - received).toBeLessThan(48 * MIB);
    expect(sent).toBeLessThan(GIB / 4);
    expect(growth).toBeLessThan(100 * MIB);

    const left = Date.now();
    client.destroy();
    await waitFor(() => generator.connections() === 0, 1000);
    expect(Date.now() - left).toBeLessThan(1000);
  });
});
