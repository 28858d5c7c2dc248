import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
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
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ftp } from './index.js';

const SIZE = 100_000;

describe('ftp: a data connection cut short while the server reports success', () => {
  let server: RunningVsftpd;
  let proxy: FaultProxy;
  let dir: string;
  const data = Buffer.from(generatedContent('/cut.bin', SIZE));

  beforeAll(async () => {
    server = await startVsftpd();
    await writeFile(join(server.root, 'cut.bin'), data);
    // A middlebox ends the client's side of the data connection early (FIN): the server still says 226.
    proxy = await startFaultProxy({ target: { host: '127.0.0.1', port: server.port }, ftp: true });
    dir = await mkdtemp(join(tmpdir(), 'dl-ftp-cut-'));
  });
  afterAll(async () => {
    await proxy?.stop();
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Cuts the next data connection (only that one) after 30,000 bytes. */
  const cutNextTransfer = () =>
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

  it('is a retryable protocol-error, never a complete file (no size expected)', async () => {
    cutNextTransfer();
    const factory = createDownloaderFactory({
      adapters: [ftp({ timeoutMs: 5000 })],
      retry: { maxAttempts: 1 },
    });
    try {
      const error = await factory
        .download({ url: `ftp://127.0.0.1:${proxy.port}/cut.bin`, destination: join(dir, 'a') })
        .then(
          () => undefined,
          (e: unknown) => e,
        );
      expect(DownloadError.isInstance(error)).toBe(true);
      expect((error as DownloadError).code).toBe(ErrorCodes.ProtocolError);
      expect((error as DownloadError).retryable).toBe(true);
      expect((error as DownloadError).message).toMatch(/30000 of 100000 bytes/);
      await expect(readFile(join(dir, 'a'))).rejects.toThrow(/ENOENT/);
    } finally {
      await factory.close();
    }
  });

  it('is resumed on the next attempt, even when a size is expected', async () => {
    const factory = createDownloaderFactory({
      adapters: [ftp({ timeoutMs: 5000 })],
      retry: { maxAttempts: 3, baseDelayMs: 5 },
    });
    try {
      cutNextTransfer();
      const result = await factory.download({
        url: `ftp://127.0.0.1:${proxy.port}/cut.bin`,
        destination: join(dir, 'b'),
        size: SIZE,
      });
      expect(result.attempts).toBe(2);
      expect(result.resumedBytes).toBe(30_000);
      expect((await readFile(join(dir, 'b'))).equals(data)).toBe(true);
    } finally {
      await factory.close();
    }
  });
});
