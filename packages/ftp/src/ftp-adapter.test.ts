import { createHash } from 'node:crypto';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import {
  DownloadError,
  ErrorCodes,
  createDownloaderFactory,
  rebuildDownloaderFactory,
  type ProtocolAdapter,
} from '@dl/core';
import {
  activeResources,
  generatedContent,
  resourceGrowth,
  startVsftpd,
  waitFor,
  type RunningVsftpd,
  openRequest,
  readAll,
  sessionContext,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ftp, type FtpSession } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const PASSWORD = 'S3cret-ftp-Pw!';
const USER = { name: 'dltestftp', password: PASSWORD };

const context = (perHost = 4) =>
  sessionContext({ maxConnectionsPerHost: perHost, maxConnections: 16, log: silent });

const request = openRequest;

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

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Everything an error could show: message, JSON, stack and cause. */
function everything(error: DownloadError): string {
  const cause = error.cause as Error | undefined;
  return [error.message, JSON.stringify(error), error.stack, cause?.message, cause?.stack].join(
    '\n',
  );
}

async function withSession<T>(
  adapter: ProtocolAdapter<FtpSession>,
  body: (session: FtpSession) => Promise<T>,
  perHost = 4,
): Promise<T> {
  const session = await adapter.createSession(context(perHost));
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

describe('ftp adapter against vsftpd', () => {
  let server: RunningVsftpd;
  beforeAll(async () => {
    server = await startVsftpd({ user: USER });
    await writeFile(join(server.root, 'a.bin'), bytes('/a.bin', 200_000));
  });
  afterAll(() => server?.stop());

  it('reports SIZE and MDTM before the body and resumes with REST', async () => {
    const data = bytes('/a.bin', 200_000);
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const whole = await adapter.open(session, request(server.url('a.bin')));
      expect(whole.metadata).toMatchObject({ size: 200_000, offset: 0, length: 200_000 });
      expect(whole.metadata.lastModified).toMatch(/GMT$/);
      expect(sha256(await readAll(whole.body))).toBe(sha256(data));
      const tail = await adapter.open(session, request(server.url('a.bin'), { offset: 150_000 }));
      expect(tail.metadata).toMatchObject({ offset: 150_000, length: 50_000 });
      expect((await readAll(tail.body)).equals(data.subarray(150_000))).toBe(true);
      // One pooled connection served both, and the server saw one.
      expect(session.connections()).toBe(1);
      expect(server.connections()).toBe(1);
      // A range (inclusive end) is cut short: exactly the bytes asked for.
      const range = await adapter.open(
        session,
        request(server.url('a.bin'), { offset: 10, end: 19 }),
      );
      expect(range.metadata.length).toBe(10);
      expect((await readAll(range.body)).equals(data.subarray(10, 20))).toBe(true);
    });
    await waitFor(() => server.connections() === 0);
  });

  it('restarts from byte 0 when the file changed since the attempt being resumed', async () => {
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const first = await adapter.open(session, request(server.url('a.bin')));
      await readAll(first.body);
      const resumeFrom = { ...first.metadata, size: 123 };
      const again = await adapter.open(
        session,
        request(server.url('a.bin'), { offset: 100, resumeFrom }),
      );
      expect(again.metadata.offset).toBe(0);
      expect((await readAll(again.body)).length).toBe(200_000);
    });
  });

  it('maps 550 to a non-retryable not-found and keeps the connection', async () => {
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const error = await failure(adapter.open(session, request(server.url('missing.bin'))));
      expect(error.code).toBe(ErrorCodes.NotFound);
      expect(error.retryable).toBe(false);
      expect(error.details.reply).toBe(550);
      expect(session.idleConnections()).toBe(1);
    });
  });

  it('logs in with a password from the options, from an env reference, or from the URL', async () => {
    const data = bytes('/a.bin', 200_000);
    process.env.DL_TEST_FTP_PASSWORD = PASSWORD;
    try {
      for (const [adapter, url] of [
        [ftp({ user: USER.name, password: PASSWORD }), server.url('a.bin')],
        [ftp({ user: USER.name, password: { env: 'DL_TEST_FTP_PASSWORD' } }), server.url('a.bin')],
        [ftp(), server.url('a.bin', { user: USER.name, password: PASSWORD })],
      ] as const) {
        await withSession(adapter, async (session) => {
          const r = await adapter.open(session, request(url));
          expect((await readAll(r.body)).equals(data)).toBe(true);
        });
      }
    } finally {
      delete process.env.DL_TEST_FTP_PASSWORD;
    }
  });

  it('maps a wrong password (530) to auth-failed without showing it anywhere', async () => {
    const wrong = 'Wr0ng-pa55word';
    // In parallel: PAM delays every failed login by about two seconds.
    await Promise.all(
      (
        [
          [ftp({ user: USER.name, password: wrong }), server.url('a.bin')],
          [ftp(), server.url('a.bin', { user: USER.name, password: wrong })],
        ] as const
      ).map(([adapter, url]) =>
        withSession(adapter, async (session) => {
          const error = await failure(adapter.open(session, request(url)));
          expect(error.code).toBe(ErrorCodes.AuthFailed);
          expect(error.retryable).toBe(false);
          expect(error.details.reply).toBe(530);
          expect(everything(error)).not.toContain(wrong);
          expect(everything(error)).not.toContain(PASSWORD);
          expect(session.connections()).toBe(0);
        }),
      ),
    );
  });

  it('redacts inline secrets in toJSON and keeps references', () => {
    expect(ftp({ user: 'u', password: 'inline-secret' }).toJSON?.()).toEqual({
      user: 'u',
      password: { redacted: true },
    });
    expect(ftp({ password: { env: 'X' } }).toJSON?.()).toEqual({ password: { env: 'X' } });
  });

  it('survives the plain-data handoff: toJSON, JSON, rebuildDownloaderFactory in "another process"', async () => {
    process.env.DL_TEST_FTP_PASSWORD_2 = PASSWORD;
    const original = createDownloaderFactory({
      adapters: [
        ftp({ user: USER.name, password: { env: 'DL_TEST_FTP_PASSWORD_2' }, idleTimeoutMs: 1000 }),
      ],
    });
    const text = JSON.stringify(original);
    await original.close();
    expect(text).not.toContain(PASSWORD);
    const rebuilt = rebuildDownloaderFactory(JSON.parse(text), { adapters: { ftp } });
    try {
      const result = await rebuilt.download({ url: server.url('a.bin'), size: 200_000 });
      expect(result.digests).toBeDefined();
      expect(result.size).toBe(200_000);
    } finally {
      await rebuilt.close();
      delete process.env.DL_TEST_FTP_PASSWORD_2;
    }
  });

  it('rejects an unset env reference with invalid-request naming the variable', async () => {
    const adapter = ftp({ user: 'u', password: { env: 'DL_TEST_UNSET_VARIABLE' } });
    const error = await failure(Promise.resolve().then(() => adapter.createSession(context())));
    expect(error.code).toBe(ErrorCodes.InvalidRequest);
    expect(error.message).toContain('DL_TEST_UNSET_VARIABLE');
  });

  it('closes idle connections after the idle timeout', async () => {
    const adapter = ftp({ idleTimeoutMs: 200 });
    await withSession(adapter, async (session) => {
      await readAll((await adapter.open(session, request(server.url('a.bin')))).body);
      expect(server.connections()).toBe(1);
      await waitFor(() => server.connections() === 0, 3000);
      expect(session.connections()).toBe(0);
      // And the next download opens a new one.
      await readAll((await adapter.open(session, request(server.url('a.bin')))).body);
      expect(session.connections()).toBe(1);
    });
  });

  it('applies backpressure to the data connection: a paused reader does not buffer the file', async () => {
    await writeFile(join(server.root, 'big.bin'), bytes('/big.bin', 24 * 1024 * 1024));
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const r = await adapter.open(session, request(server.url('big.bin')));
      const body = r.body as Readable;
      await sleep(400);
      expect(server.dataConnections()).toBe(1);
      expect(body.readableLength).toBeLessThanOrEqual(64 * 1024);
      expect(sha256(await readAll(body))).toBe(sha256(bytes('/big.bin', 24 * 1024 * 1024)));
    });
  });

  it('aborting mid-body closes the data and control connections and drops the client', async () => {
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const controller = new AbortController();
      const r = await adapter.open(
        session,
        request(server.url('big.bin'), { signal: controller.signal }),
      );
      const iterator = (r.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      await iterator.next();
      controller.abort();
      const error = await failure(iterator.next());
      expect(error.code).toBe(ErrorCodes.Aborted);
      expect(session.connections()).toBe(0);
      await waitFor(() => server.connections() === 0 && server.dataConnections() === 0, 3000);
      // The session still works.
      expect(
        (await readAll((await adapter.open(session, request(server.url('a.bin')))).body)).length,
      ).toBe(200_000);
    });
  });

  it('a consumer that stops reading frees the connection', async () => {
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const r = await adapter.open(session, request(server.url('big.bin')));
      for await (const _chunk of r.body as AsyncIterable<Uint8Array>) break;
      await waitFor(() => session.connections() === 0);
      await waitFor(() => server.connections() === 0 && server.dataConnections() === 0, 3000);
    });
  });
});

describe('ftp adapter: keep-alive and 421', () => {
  it('keeps idle control connections alive with NOOP past the server idle timeout', async () => {
    // Each vsftpd drops a control connection idle for 1 s; one session pings, the other does not.
    const servers = await Promise.all([
      startVsftpd({ idleSessionTimeout: 1 }),
      startVsftpd({ idleSessionTimeout: 1 }),
    ]);
    try {
      await Promise.all(
        servers.map(async (server, i) => {
          const keepAliveIntervalMs = i === 0 ? 300 : 0;
          await writeFile(join(server.root, 'k.bin'), bytes('/k.bin', 1000));
          const adapter = ftp({ keepAliveIntervalMs, idleTimeoutMs: 10_000 });
          await withSession(adapter, async (session) => {
            await readAll((await adapter.open(session, request(server.url('k.bin')))).body);
            await sleep(1800);
            expect(server.connections()).toBe(keepAliveIntervalMs > 0 ? 1 : 0);
            // Either way the next download works: a dropped idle connection is replaced.
            const next = await adapter.open(session, request(server.url('k.bin')));
            expect((await readAll(next.body)).length).toBe(1000);
            expect(session.connections()).toBe(1);
          });
        }),
      );
    } finally {
      await Promise.all(servers.map((server) => server.stop()));
    }
  });

  it('a 421 "too many connections" is retryable and lowers the connection count of that host', async () => {
    const server = await startVsftpd({ maxPerIp: 2 });
    try {
      await writeFile(join(server.root, 'f.bin'), bytes('/f.bin', 50_000));
      const adapter = ftp();
      await withSession(adapter, async (session) => {
        const origin = `ftp://127.0.0.1:${server.port}`;
        expect(session.maxTransfers?.(origin)).toBeUndefined();
        const opens = await Promise.allSettled(
          Array.from({ length: 4 }, () => adapter.open(session, request(server.url('f.bin')))),
        );
        const rejected = opens
          .filter((o) => o.status === 'rejected')
          .map((o) => o.reason as DownloadError);
        expect(rejected.length).toBeGreaterThanOrEqual(1);
        for (const error of rejected) {
          expect(error.code).toBe(ErrorCodes.RemoteUnavailable);
          expect(error.retryable).toBe(true);
          expect(error.details.reply).toBe(421);
        }
        for (const o of opens) if (o.status === 'fulfilled') await readAll(o.value.body);
        expect(session.maxTransfers?.(origin)).toBe(2);
      });

      // Through the factory: the scheduler learns the lower limit and every download succeeds.
      const factory = createDownloaderFactory({
        adapters: [ftp()],
        limits: { total: 8, perHost: 4 },
        retry: { maxAttempts: 6, baseDelayMs: 20, maxDelayMs: 200 },
      });
      try {
        const requests = Array.from({ length: 16 }, (_, i) => ({
          url: server.url('f.bin'),
          size: 50_000,
          context: i,
        }));
        const watch = server.watchConnections(2);
        let ok = 0;
        for await (const outcome of factory.downloadAll(requests)) if (outcome.ok) ok++;
        watch.stop();
        expect(ok).toBe(16);
        expect(watch.max).toBeLessThanOrEqual(4);
      } finally {
        await factory.close();
      }
    } finally {
      await server.stop();
    }
  });
});

describe('ftp adapter: resume and abort through the factory', () => {
  it('resumes with REST after the server session is killed mid-file, verified by digest', async () => {
    // ~2 MB/s so that the kill lands in the middle of the 3 MB file.
    const server = await startVsftpd({ maxRate: 2_000_000 });
    const dir = await mkdtemp(join(tmpdir(), 'dl-ftp-resume-'));
    const factory = createDownloaderFactory({
      adapters: [ftp()],
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    });
    try {
      const size = 3 * 1024 * 1024;
      const data = bytes('/r.bin', size);
      await writeFile(join(server.root, 'r.bin'), data);
      let killedAt = -1;
      const off = factory.on('download-progress', (event) => {
        if (killedAt < 0 && event.bytes >= 1024 * 1024) {
          killedAt = event.bytes;
          expect(server.killSessions()).toBeGreaterThan(0);
        }
      });
      const result = await factory.download({
        url: server.url('r.bin'),
        destination: join(dir, 'r.bin'),
        size,
        digests: { sha256: sha256(data) },
      });
      off();
      expect(killedAt).toBeGreaterThan(0);
      expect(result.attempts).toBe(2);
      expect(result.resumedBytes).toBeGreaterThanOrEqual(killedAt);
      expect(result.resumedBytes).toBeLessThan(size);
      expect(result.digests.sha256).toBe(sha256(data));
      expect(await readdir(dir)).toEqual(['r.bin']);
    } finally {
      await factory.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('aborting 50 concurrent transfers leaves no socket, no server connection and no temp file', async () => {
    const server = await startVsftpd({ maxRate: 200_000, passivePorts: 80 });
    const dir = await mkdtemp(join(tmpdir(), 'dl-ftp-abort-'));
    try {
      for (let i = 0; i < 50; i++)
        await writeFile(join(server.root, `${i}.bin`), bytes(`/${i}.bin`, 2_000_000));
      const baseline = activeResources();
      const factory = createDownloaderFactory({
        adapters: [ftp()],
        limits: { total: 50, perHost: 50 },
      });
      const controller = new AbortController();
      const requests = Array.from({ length: 50 }, (_, i) => ({
        url: server.url(`${i}.bin`),
        destination: join(dir, `${i}.bin`),
        context: i,
      }));
      const codes: string[] = [];
      const run = (async () => {
        for await (const outcome of factory.downloadAll(requests, { signal: controller.signal })) {
          codes.push(outcome.ok ? 'ok' : outcome.error.code);
        }
      })();
      await waitFor(() => server.dataConnections() >= 50, 10_000, {
        message: () => `only ${server.dataConnections()} transfers started`,
      });
      controller.abort();
      const thrown = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(DownloadError.isInstance(thrown) && thrown.code).toBe(ErrorCodes.Aborted);
      expect(codes.filter((code) => code === 'ok').length).toBeLessThan(50);
      expect(
        codes.filter((code) => code !== 'ok').every((code) => code === ErrorCodes.Aborted),
      ).toBe(true);
      await factory.close();
      await waitFor(() => server.connections() === 0 && server.dataConnections() === 0, 5000, {
        message: () =>
          `server still sees ${server.connections()} + ${server.dataConnections()} connections`,
      });
      await waitFor(() => resourceGrowth(baseline).length === 0, 3000, {
        message: () => `resources left: ${resourceGrowth(baseline).join(', ')}`,
      });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

describe('ftps certificates', () => {
  let server: RunningVsftpd;
  beforeAll(async () => {
    server = await startVsftpd({ tls: 'explicit' });
    await writeFile(join(server.root, 't.bin'), bytes('/t.bin', 10_000));
  });
  afterAll(() => server?.stop());

  it('rejects a certificate from an unknown CA with untrusted-server', async () => {
    const adapter = ftp({ tls: 'explicit' });
    await withSession(adapter, async (session) => {
      const error = await failure(adapter.open(session, request(server.url('t.bin'))));
      expect(error.code).toBe(ErrorCodes.UntrustedServer);
      expect(error.retryable).toBe(false);
      expect(error.details.tlsError).toBe('DEPTH_ZERO_SELF_SIGNED_CERT');
    });
  });

  it('accepts it with its CA, or with insecureSkipTlsVerify', async () => {
    for (const adapter of [
      ftp({ tls: 'explicit', ca: server.ca as string }),
      ftp({ tls: 'explicit', insecureSkipTlsVerify: true }),
    ]) {
      await withSession(adapter, async (session) => {
        expect(
          (await readAll((await adapter.open(session, request(server.url('t.bin')))).body)).length,
        ).toBe(10_000);
      });
    }
  });

  it('refuses to fall back to plain FTP when the server requires TLS', async () => {
    const adapter = ftp();
    await withSession(adapter, async (session) => {
      const error = await failure(adapter.open(session, request(server.url('t.bin'))));
      expect(error.code).toBe(ErrorCodes.AuthFailed);
    });
  });
});
