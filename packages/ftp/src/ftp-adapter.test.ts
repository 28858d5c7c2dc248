import { createHash } from 'node:crypto';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DownloadError, ErrorCodes, type OpenRequest, type SessionContext } from '@dl/core';
import { generatedContent, startVsftpd, waitFor, type RunningVsftpd } from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ftp } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };

function context(perHost = 4): SessionContext {
  return {
    maxConnectionsPerHost: perHost,
    maxConnections: 16,
    userAgent: 'dl/test',
    signal: new AbortController().signal,
    log: silent,
  };
}

function request(url: string, extra: Partial<OpenRequest> = {}): OpenRequest {
  return {
    url: new URL(url),
    offset: 0,
    headers: {},
    signal: new AbortController().signal,
    attempt: 1,
    download: { url },
    ...extra,
  };
}

async function readAll(body: AsyncIterable<Uint8Array> | NodeJS.ReadableStream): Promise<Buffer> {
  const parts: Uint8Array[] = [];
  for await (const chunk of body as AsyncIterable<Uint8Array>) parts.push(chunk);
  return Buffer.concat(parts);
}

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(DownloadError.isInstance(error), String(error)).toBe(true);
  return error as DownloadError;
}

function bytes(path: string, size: number): Buffer {
  return Buffer.from(generatedContent(path, size));
}

describe('ftp adapter against vsftpd (anonymous)', () => {
  let server: RunningVsftpd;
  beforeAll(async () => {
    server = await startVsftpd();
  });
  afterAll(() => server?.stop());

  it('downloads with SIZE before the body and resumes with REST', async () => {
    const data = bytes('/a.bin', 200_000);
    await writeFile(join(server.root, 'a.bin'), data);
    const adapter = ftp();
    const session = await adapter.createSession(context());
    try {
      const r = await adapter.open(session, request(server.url('a.bin')));
      expect(r.metadata.size).toBe(200_000);
      expect(r.metadata.offset).toBe(0);
      expect(r.metadata.lastModified).toMatch(/GMT$/);
      expect((await readAll(r.body)).equals(data)).toBe(true);
      const tail = await adapter.open(session, request(server.url('a.bin'), { offset: 150_000 }));
      expect(tail.metadata.offset).toBe(150_000);
      expect(tail.metadata.length).toBe(50_000);
      expect((await readAll(tail.body)).equals(data.subarray(150_000))).toBe(true);
      expect(session.connections()).toBe(1);
      expect(server.connections()).toBe(1);
    } finally {
      await session.close();
    }
    await waitFor(() => server.connections() === 0);
  });

  it('maps 550 to not-found and keeps the connection', async () => {
    const adapter = ftp();
    const session = await adapter.createSession(context());
    try {
      const error = await failure(adapter.open(session, request(server.url('missing.bin'))));
      expect(error.code).toBe(ErrorCodes.NotFound);
      expect(error.retryable).toBe(false);
      expect(error.details.reply).toBe(550);
      expect(session.idleConnections()).toBe(1);
    } finally {
      await session.close();
    }
  });
});

export const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');
