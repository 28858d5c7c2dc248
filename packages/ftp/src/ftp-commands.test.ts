import { createHash } from 'node:crypto';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import {
  createConnection,
  createServer,
  type AddressInfo,
  type Server,
  type Socket,
} from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createDownloaderFactory, DownloadError, ErrorCodes } from '@dl/core';
import {
  generatedContent,
  startFaultProxy,
  startVsftpd,
  type FaultProxy,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ftp } from './index.js';

const SIZE = 100_000;
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/**
 * A control-connection relay that records the commands the client sends
 * and, when asked, removes the size from the server's `150` replies (as
 * servers that do not announce it would send them). Passive replies name
 * the server's address, so data connections bypass it.
 */
async function startRelay(port: number) {
  const commands: string[] = [];
  let hideAnnouncedSize = false;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const upstream = createConnection({ host: '127.0.0.1', port });
    sockets.add(client).add(upstream);
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.destroy());
    client.on('error', () => {});
    upstream.on('error', () => {});
    client.on('data', (chunk: Buffer) => {
      for (const line of chunk.toString('latin1').split('\r\n')) {
        if (line !== '') commands.push(line.split(' ')[0] as string);
      }
      upstream.write(chunk);
    });
    upstream.on('data', (chunk: Buffer) => {
      const text = chunk.toString('latin1');
      client.write(hideAnnouncedSize ? text.replace(/ ?\(\d+ bytes\)/g, '') : text, 'latin1');
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    port: (server.address() as AddressInfo).port,
    commands,
    hideAnnouncedSize(hide: boolean) {
      hideAnnouncedSize = hide;
    },
    async stop() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('ftp: commands sent per file', () => {
  let server: RunningVsftpd;
  let proxy: FaultProxy;
  let relay: Awaited<ReturnType<typeof startRelay>>;
  let cutRelay: Awaited<ReturnType<typeof startRelay>>;
  let dir: string;
  const data = Buffer.from(generatedContent('/f.bin', SIZE));
  const digest = sha256(data);

  beforeAll(async () => {
    server = await startVsftpd();
    await writeFile(join(server.root, 'f.bin'), data);
    relay = await startRelay(server.port);
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port }, ftp: true });
    cutRelay = await startRelay(proxy.port);
    dir = await mkdtemp(join(tmpdir(), 'dl-ftp-commands-'));
  });
  afterAll(async () => {
    await relay?.stop();
    await cutRelay?.stop();
    await proxy?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    relay.commands.length = 0;
    relay.hideAnnouncedSize(false);
    cutRelay.commands.length = 0;
    cutRelay.hideAnnouncedSize(false);
  });

  const url = (port: number) => `ftp://127.0.0.1:${port}/f.bin`;
  const perFile = (commands: string[]) =>
    commands.filter((c) => ['SIZE', 'MDTM', 'EPSV', 'PASV', 'RETR', 'REST'].includes(c));

  async function download(
    options: Parameters<typeof ftp>[0],
    request: { size?: number; digests?: { sha256: string } },
    port = relay.port,
    maxAttempts = 1,
  ) {
    const factory = createDownloaderFactory({
      adapters: [ftp(options)],
      retry: { maxAttempts, baseDelayMs: 5 },
    });
    const destination = join(dir, `${Math.random().toString(36).slice(2)}.bin`);
    try {
      return await factory.download({ url: url(port), destination, ...request });
    } finally {
      await factory.close();
    }
  }

  it('asks SIZE and MDTM when the request says nothing about the file', async () => {
    const result = await download({}, {});
    expect(perFile(relay.commands)).toEqual(['SIZE', 'MDTM', 'EPSV', 'RETR']);
    expect(result.metadata.size).toBe(SIZE);
    expect(result.metadata.lastModified).toMatch(/GMT$/);
  });

  it('skips SIZE when the size is expected, and MDTM when a digest guards the bytes', async () => {
    const result = await download({}, { size: SIZE, digests: { sha256: digest } });
    expect(perFile(relay.commands)).toEqual(['EPSV', 'RETR']);
    // The size still comes from the server: its 150 reply announces it.
    expect(result.metadata).toMatchObject({ size: SIZE, length: SIZE });
    expect(result.metadata.lastModified).toBeUndefined();
  });

  it('asks MDTM when modificationTime is true, never when it is false', async () => {
    const always = await download(
      { modificationTime: true },
      { size: SIZE, digests: { sha256: digest } },
    );
    expect(perFile(relay.commands)).toEqual(['MDTM', 'EPSV', 'RETR']);
    expect(always.metadata.lastModified).toMatch(/GMT$/);
    relay.commands.length = 0;
    const never = await download({ modificationTime: false }, {});
    expect(perFile(relay.commands)).toEqual(['SIZE', 'EPSV', 'RETR']);
    expect(never.metadata.lastModified).toBeUndefined();
  });

  it('tells a file shorter than expected (no size in the 150 reply) from a cut connection by asking SIZE', async () => {
    relay.hideAnnouncedSize(true);
    const error = await download({}, { size: SIZE + 10, digests: { sha256: digest } }).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(DownloadError.isInstance(error), String(error)).toBe(true);
    expect((error as DownloadError).code).toBe(ErrorCodes.SizeMismatch);
    expect(perFile(relay.commands)).toEqual(['EPSV', 'RETR', 'SIZE']);
  });

  it('resumes a cut connection when the 150 reply announced no size', async () => {
    cutRelay.hideAnnouncedSize(true);
    proxy.setFaults({
      rules: [
        {
          kind: 'truncate',
          at: 30_000,
          channel: 'data',
          connection: proxy.stats().dataConnections,
        },
      ],
    });
    const destination = await download(
      {},
      { size: SIZE, digests: { sha256: digest } },
      cutRelay.port,
      3,
    );
    expect(destination.attempts).toBe(2);
    expect(destination.resumedBytes).toBe(30_000);
    expect((await readFile(destination.path!)).equals(data)).toBe(true);
    // First attempt: no SIZE until the body ended short; the resumption checks the file again.
    expect(perFile(cutRelay.commands)).toEqual([
      'EPSV',
      'RETR',
      'SIZE',
      'SIZE',
      'EPSV',
      'REST',
      'RETR',
    ]);
  });

  it('fetches file after file on one connection with EPSV and RETR alone, ranges with REST', async () => {
    const factory = createDownloaderFactory({
      adapters: [ftp({ maxConnectionsPerHost: 1 })],
      retry: { maxAttempts: 1 },
    });
    try {
      for (let i = 0; i < 4; i++) {
        const destination = join(dir, `reused-${i}.bin`);
        await factory.download({
          url: url(relay.port),
          destination,
          size: SIZE,
          digests: { sha256: digest },
        });
        expect((await readFile(destination)).equals(data)).toBe(true);
      }
      const ranged = await factory.open({
        url: url(relay.port),
        range: { start: 1000, end: 1999 },
      });
      const chunks: Uint8Array[] = [];
      for await (const chunk of ranged.body) chunks.push(chunk);
      expect(Buffer.concat(chunks).equals(data.subarray(1000, 2000))).toBe(true);
    } finally {
      await factory.close();
    }
    // One login; from the second file on, the passive reply and RETR share one task of the client.
    expect(relay.commands.filter((c) => c === 'USER')).toHaveLength(1);
    expect(perFile(relay.commands)).toEqual([
      ...Array.from({ length: 4 }, () => ['EPSV', 'RETR']).flat(),
      'SIZE',
      'MDTM',
      'EPSV',
      'REST',
      'RETR',
    ]);
  });
});
