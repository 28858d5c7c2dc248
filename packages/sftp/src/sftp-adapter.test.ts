import { createHash } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  DownloadError,
  ErrorCodes,
  createDownloaderFactory,
  rebuildDownloaderFactory,
  type OpenInterceptor,
  type ProtocolAdapter,
} from '@dl/core';
import {
  activeResources,
  generatedContent,
  resourceGrowth,
  startSshAgent,
  startSshd,
  waitFor,
  type RunningSshd,
  openRequest,
  readAll,
  sessionContext,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sftp, type SftpAdapterOptions, type SftpSession } from './index.js';

const silent = { debug() {}, info() {}, warn() {}, error() {} };
const PASSWORD = 'S3cret-sftp-Pw!';
const PASSPHRASE = 'key-Passphrase-42';

const context = (perHost = 4) =>
  sessionContext({ maxConnectionsPerHost: perHost, maxConnections: 64, log: silent });

const request = openRequest;

async function failure(promise: Promise<unknown>): Promise<DownloadError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(DownloadError.isInstance(error), String(error)).toBe(true);
  return error as DownloadError;
}

const bytes = (path: string, size: number) => Buffer.from(generatedContent(path, size));
const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Everything an error could show: message, JSON, stack and cause. */
function everything(error: DownloadError): string {
  const cause = error.cause as Error | undefined;
  return [error.message, JSON.stringify(error), error.stack, cause?.message, cause?.stack].join(
    '\n',
  );
}

async function withSession<T>(
  adapter: ProtocolAdapter<SftpSession>,
  body: (session: SftpSession) => Promise<T>,
  perHost = 4,
): Promise<T> {
  const session = await adapter.createSession(context(perHost));
  try {
    return await body(session);
  } finally {
    await session.close();
  }
}

describe('sftp adapter against OpenSSH sshd', () => {
  let server: RunningSshd;
  let keyAuth: SftpAdapterOptions;
  let empty: string;
  beforeAll(async () => {
    server = await startSshd({ user: { name: 'dltestsftp', password: PASSWORD } });
    keyAuth = {
      username: server.username,
      privateKey: server.privateKey,
      knownHosts: server.knownHostsFile,
    };
    await writeFile(join(server.root, 'a.bin'), bytes('/a.bin', 300_000));
    await mkdir(join(server.root, 'folder'));
    empty = join(server.root, '..', 'empty_known_hosts');
    await writeFile(empty, '');
  });
  afterAll(() => server?.stop());

  it('reports size and modification time from stat, resumes from an offset and honours an end', async () => {
    const data = bytes('/a.bin', 300_000);
    const adapter = sftp(keyAuth);
    await withSession(adapter, async (session) => {
      const whole = await adapter.open(session, request(server.url('a.bin')));
      expect(whole.metadata).toMatchObject({ size: 300_000, offset: 0, length: 300_000 });
      expect(whole.metadata.lastModified).toMatch(/GMT$/);
      expect(sha256(await readAll(whole.body))).toBe(sha256(data));
      const tail = await adapter.open(session, request(server.url('a.bin'), { offset: 250_000 }));
      expect(tail.metadata).toMatchObject({ offset: 250_000, length: 50_000 });
      expect((await readAll(tail.body)).equals(data.subarray(250_000))).toBe(true);
      const range = await adapter.open(
        session,
        request(server.url('a.bin'), { offset: 10, end: 19 }),
      );
      expect(range.metadata.length).toBe(10);
      expect((await readAll(range.body)).equals(data.subarray(10, 20))).toBe(true);
      await waitFor(() => session.idleConnections() === 1);
      expect(session.connections()).toBe(1);
      expect(server.connections()).toBe(1);
      await waitFor(() => server.openFiles() === 0);
    });
    await waitFor(() => server.connections() === 0);
  });

  it('reads a small file whose size and digest are expected without a stat: open, one read with the close', async () => {
    await writeFile(join(server.root, 'small.bin'), bytes('/small.bin', 16_384));
    const data = bytes('/small.bin', 16_384);
    const adapter = sftp(keyAuth);
    const expecting = (path: string, size: number, digest = sha256(data)) =>
      request(server.url(path), {
        download: { url: server.url(path), size, digests: { sha256: digest } },
      });
    await withSession(
      adapter,
      async (session) => {
        const r = await adapter.open(session, expecting('small.bin', 16_384));
        // No stat: neither size nor modification time; the digest guards the bytes.
        expect(r.metadata).toMatchObject({ offset: 0 });
        expect(r.metadata.size).toBeUndefined();
        expect(r.metadata.lastModified).toBeUndefined();
        expect((await readAll(r.body)).equals(data)).toBe(true);
        // A file longer than expected shows one byte more, for the core to reject.
        const longer = await adapter.open(session, expecting('small.bin', 1000));
        expect((await readAll(longer.body)).equals(data.subarray(0, 1001))).toBe(true);
        // Shorter: the whole file and no more reads on the closed handle.
        const shorter = await adapter.open(session, expecting('small.bin', 20_000));
        expect((await readAll(shorter.body)).equals(data)).toBe(true);
        // A folder opens on OpenSSH and fails at the read: still not found, and before any body.
        const folder = await failure(adapter.open(session, expecting('folder', 100)));
        expect(folder.code).toBe(ErrorCodes.NotFound);
        const missing = await failure(adapter.open(session, expecting('missing.bin', 100)));
        expect(missing.code).toBe(ErrorCodes.NotFound);
        // Without a digest the stat is asked as before.
        const plain = await adapter.open(
          session,
          request(server.url('small.bin'), {
            download: { url: server.url('small.bin'), size: 16_384 },
          }),
        );
        expect(plain.metadata).toMatchObject({ size: 16_384, length: 16_384 });
        expect(plain.metadata.lastModified).toMatch(/GMT$/);
        expect((await readAll(plain.body)).equals(data)).toBe(true);
        await waitFor(() => server.openFiles() === 0);
      },
      1,
    );
  });

  it('reads files around one read request and a chunk exactly, closing every handle', async () => {
    const sizes = [1, 30 * 1024, 30 * 1024 + 1, 64 * 1024, 64 * 1024 + 100, 2 * 64 * 1024];
    for (const size of sizes) {
      await writeFile(join(server.root, `s${size}.bin`), bytes(`/s${size}.bin`, size));
    }
    const adapter = sftp(keyAuth);
    await withSession(
      adapter,
      async (session) => {
        for (const size of sizes) {
          const r = await adapter.open(session, request(server.url(`s${size}.bin`)));
          expect(r.metadata).toMatchObject({ size, length: size });
          const data = await readAll(r.body);
          expect(sha256(data), `${size} bytes`).toBe(sha256(bytes(`/s${size}.bin`, size)));
        }
        await waitFor(() => server.openFiles() === 0);
        expect(session.connections()).toBe(1);
      },
      1,
    );
  });

  it('maps a missing file and a folder to not-found and keeps the connection', async () => {
    const adapter = sftp(keyAuth);
    await withSession(adapter, async (session) => {
      for (const path of ['missing.bin', 'folder']) {
        const error = await failure(adapter.open(session, request(server.url(path))));
        expect(error.code).toBe(ErrorCodes.NotFound);
        expect(error.retryable).toBe(false);
      }
      expect(session.connections()).toBe(1);
    });
  });

  it('accepts a host key pinned by fingerprint, or listed hashed in known_hosts', async () => {
    const hashed = join(server.root, '..', 'hashed_known_hosts');
    await writeFile(hashed, `${server.knownHostsLine}\n`);
    execFileSync('ssh-keygen', ['-H', '-f', hashed], { stdio: 'ignore' });
    for (const options of [
      {
        hostFingerprints: { [`127.0.0.1:${server.port}`]: server.hostKey.fingerprint },
        knownHosts: [],
      },
      { knownHosts: hashed },
    ]) {
      const adapter = sftp({
        username: server.username,
        privateKey: server.privateKey,
        ...options,
      });
      await withSession(adapter, async (session) => {
        expect(
          (await readAll((await adapter.open(session, request(server.url('a.bin')))).body)).length,
        ).toBe(300_000);
      });
    }
  });

  it('refuses an unknown host key with untrusted-server naming its fingerprint', async () => {
    const adapter = sftp({
      username: server.username,
      privateKey: server.privateKey,
      knownHosts: empty,
    });
    await withSession(adapter, async (session) => {
      const error = await failure(adapter.open(session, request(server.url('a.bin'))));
      expect(error.code).toBe(ErrorCodes.UntrustedServer);
      expect(error.retryable).toBe(false);
      expect(error.details).toMatchObject({
        reason: 'unknown',
        fingerprint: server.hostKey.fingerprint,
      });
      expect(error.message).toContain(server.hostKey.fingerprint);
      expect(session.connections()).toBe(0);
    });
  });

  it('refuses a changed host key (known_hosts and pins) with untrusted-server', async () => {
    const other = await server.generateKey();
    const changed = join(server.root, '..', 'changed_known_hosts');
    await writeFile(changed, `[127.0.0.1]:${server.port} ${other.publicKey.openssh}\n`);
    for (const options of [
      { knownHosts: changed },
      {
        knownHosts: [],
        hostFingerprints: { [`[127.0.0.1]:${server.port}`]: other.publicKey.fingerprint },
      },
    ]) {
      const adapter = sftp({
        username: server.username,
        privateKey: server.privateKey,
        ...options,
      });
      await withSession(adapter, async (session) => {
        const error = await failure(adapter.open(session, request(server.url('a.bin'))));
        expect(error.code).toBe(ErrorCodes.UntrustedServer);
        expect(error.details).toMatchObject({
          reason: 'changed',
          fingerprint: server.hostKey.fingerprint,
        });
        expect(error.message).toContain(server.hostKey.fingerprint);
      });
    }
  });

  it('skips host key checks only when told so, loudly', async () => {
    const warnings: string[] = [];
    const adapter = sftp({
      username: server.username,
      privateKey: server.privateKey,
      insecureSkipHostKeyCheck: true,
    });
    const session = await adapter.createSession({
      ...context(),
      log: { ...silent, warn: (m: string) => warnings.push(m) },
    });
    try {
      expect(
        (await readAll((await adapter.open(session, request(server.url('a.bin')))).body)).length,
      ).toBe(300_000);
      expect(warnings.join('\n')).toMatch(/HOST KEY CHECKING IS OFF/);
    } finally {
      await session.close();
    }
  });

  it('authenticates with a password (options or URL), a passphrase-protected key, or ssh-agent', async () => {
    const agent = await startSshAgent();
    try {
      await agent.add(server.privateKeyPath);
      const encrypted = await startSshd({ userKeyPassphrase: PASSPHRASE });
      try {
        await writeFile(join(encrypted.root, 'a.bin'), bytes('/a.bin', 300_000));
        const cases: [SftpAdapterOptions, string][] = [
          [
            { username: server.username, password: PASSWORD, knownHosts: server.knownHostsFile },
            server.url('a.bin'),
          ],
          [{ knownHosts: server.knownHostsFile }, server.url('a.bin', { password: PASSWORD })],
          [
            { username: server.username, agent: agent.socket, knownHosts: server.knownHostsFile },
            server.url('a.bin'),
          ],
          [
            {
              username: encrypted.username,
              privateKey: encrypted.privateKey,
              passphrase: PASSPHRASE,
              knownHosts: encrypted.knownHostsFile,
            },
            encrypted.url('a.bin'),
          ],
        ];
        for (const [options, url] of cases) {
          const adapter = sftp(options);
          await withSession(adapter, async (session) => {
            expect((await readAll((await adapter.open(session, request(url))).body)).length).toBe(
              300_000,
            );
          });
        }
        // A wrong passphrase is an auth failure that does not show the passphrase.
        const wrong = sftp({
          username: encrypted.username,
          privateKey: encrypted.privateKey,
          passphrase: 'Not-the-passphrase',
          knownHosts: encrypted.knownHostsFile,
        });
        await withSession(wrong, async (session) => {
          const error = await failure(wrong.open(session, request(encrypted.url('a.bin'))));
          expect(error.code).toBe(ErrorCodes.AuthFailed);
          expect(everything(error)).not.toContain('Not-the-passphrase');
          expect(everything(error)).not.toContain('PRIVATE KEY');
        });
      } finally {
        await encrypted.stop();
      }
    } finally {
      await agent.stop();
    }
  });

  it('maps a wrong password to auth-failed without showing it anywhere', async () => {
    const wrong = 'Wr0ng-sftp-pa55';
    for (const [options, url] of [
      [
        { username: server.username, password: wrong, knownHosts: server.knownHostsFile },
        server.url('a.bin'),
      ],
      [{ knownHosts: server.knownHostsFile }, server.url('a.bin', { password: wrong })],
    ] as const) {
      const adapter = sftp(options);
      await withSession(adapter, async (session) => {
        const error = await failure(adapter.open(session, request(url)));
        expect(error.code).toBe(ErrorCodes.AuthFailed);
        expect(error.retryable).toBe(false);
        expect(everything(error)).not.toContain(wrong);
        expect(everything(error)).not.toContain(PASSWORD);
      });
    }
  });

  it('redacts inline secrets in toJSON and keeps references', () => {
    expect(
      sftp({
        username: 'u',
        password: 'p-inline',
        privateKey: { file: '/k' },
        passphrase: 'x-inline',
      }).toJSON?.(),
    ).toEqual({
      username: 'u',
      password: { redacted: true },
      privateKey: { file: '/k' },
      passphrase: { redacted: true },
    });
  });

  it('survives the plain-data handoff: toJSON, JSON, rebuildDownloaderFactory in "another process"', async () => {
    const original = createDownloaderFactory({
      adapters: [
        sftp({
          username: server.username,
          privateKey: { file: server.privateKeyPath },
          knownHosts: server.knownHostsFile,
          idleTimeoutMs: 1000,
        }),
      ],
    });
    const text = JSON.stringify(original);
    await original.close();
    expect(text).not.toContain('PRIVATE KEY');
    const rebuilt = rebuildDownloaderFactory(JSON.parse(text), { adapters: { sftp } });
    try {
      const result = await rebuilt.download({ url: server.url('a.bin'), size: 300_000 });
      expect(result.size).toBe(300_000);
    } finally {
      await rebuilt.close();
    }
  });

  it('rejects a malformed pinned fingerprint at construction', () => {
    expect(() => sftp({ hostFingerprints: { host: 'md5:aa:bb' } })).toThrow(/hostFingerprints/);
  });

  it('aborting mid-body closes the remote file and frees the connection', async () => {
    await writeFile(join(server.root, 'big.bin'), bytes('/big.bin', 16 * 1024 * 1024));
    const adapter = sftp(keyAuth);
    await withSession(adapter, async (session) => {
      const controller = new AbortController();
      const r = await adapter.open(
        session,
        request(server.url('big.bin'), { signal: controller.signal }),
      );
      const iterator = (r.body as AsyncIterable<Uint8Array>)[Symbol.asyncIterator]();
      await iterator.next();
      expect(server.openFiles()).toBe(1);
      controller.abort();
      const error = await failure(iterator.next());
      expect(error.code).toBe(ErrorCodes.Aborted);
      await waitFor(() => server.openFiles() === 0, 3000);
      await waitFor(() => session.idleConnections() + 0 === session.connections(), 3000);
      // The session still works.
      expect(
        (await readAll((await adapter.open(session, request(server.url('a.bin')))).body)).length,
      ).toBe(300_000);
    });
  });
});

describe('sftp adapter through the factory', () => {
  it('downloads 1,000 files of 16 KiB at per-host 4; sshd never sees more than 4 connections', async () => {
    const server = await startSshd();
    const dir = await mkdtemp(join(tmpdir(), 'dl-sftp-scale-'));
    const factory = createDownloaderFactory({
      adapters: [sftp({ privateKey: server.privateKey, knownHosts: server.knownHostsFile })],
      limits: { total: 16, perHost: 4 },
    });
    try {
      const count = 1000;
      const size = 16 * 1024;
      await mkdir(join(server.root, 'many'));
      const digests: string[] = [];
      for (let i = 0; i < count; i++) {
        const data = generatedContent(`/many/${i}.bin`, size);
        digests.push(sha256(data));
        await writeFile(join(server.root, 'many', `${i}.bin`), data);
      }
      const requests = function* () {
        for (let i = 0; i < count; i++) {
          yield {
            url: server.url(`many/${i}.bin`),
            destination: join(dir, `${i}.bin`),
            size,
            digests: { sha256: digests[i] as string },
            context: i,
          };
        }
      };
      const watch = server.watchConnections(20);
      const started = Date.now();
      let ok = 0;
      const failures: string[] = [];
      for await (const outcome of factory.downloadAll(requests())) {
        if (outcome.ok) ok++;
        else failures.push(`${outcome.context}: ${outcome.error.code} ${outcome.error.message}`);
      }
      const max = watch.stop();
      console.log(
        `sftp: ${count} files in ${Date.now() - started} ms, sshd saw at most ${max} connections`,
      );
      expect(failures).toEqual([]);
      expect(ok).toBe(count);
      expect(max).toBeLessThanOrEqual(4);
      expect(max).toBeGreaterThanOrEqual(1);
      expect((await readdir(dir)).length).toBe(count);
    } finally {
      await factory.close();
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);

  it('resumes from the offset reached after the server session is killed mid-file, verified by digest', async () => {
    const server = await startSshd();
    const dir = await mkdtemp(join(tmpdir(), 'dl-sftp-resume-'));
    const factory = createDownloaderFactory({
      adapters: [sftp({ privateKey: server.privateKey, knownHosts: server.knownHostsFile })],
      retry: { maxAttempts: 3, baseDelayMs: 10, maxDelayMs: 50 },
    });
    try {
      const size = 8 * 1024 * 1024;
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
    const server = await startSshd();
    const dir = await mkdtemp(join(tmpdir(), 'dl-sftp-abort-'));
    try {
      for (let i = 0; i < 50; i++)
        await writeFile(join(server.root, `${i}.bin`), bytes(`/${i}.bin`, 1_000_000));
      const baseline = activeResources();
      // Every transfer holds after its first chunk until the abort, so all 50 are in flight at once.
      const hold: OpenInterceptor = (next) => async (request) => {
        const resource = await next(request);
        const body = resource.body as AsyncIterable<Uint8Array>;
        async function* held(): AsyncGenerator<Uint8Array> {
          let first = true;
          for await (const chunk of body) {
            yield chunk;
            if (first) {
              first = false;
              await new Promise((resolve) =>
                request.signal.addEventListener('abort', resolve, { once: true }),
              );
            }
          }
        }
        return { ...resource, body: held() };
      };
      const factory = createDownloaderFactory({
        adapters: [sftp({ privateKey: server.privateKey, knownHosts: server.knownHostsFile })],
        limits: { total: 50, perHost: 50 },
        interceptors: [hold],
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
      await waitFor(() => server.openFiles() >= 50, 20_000, {
        message: () => `only ${server.openFiles()} transfers in flight at the server`,
      });
      expect(server.connections()).toBe(50);
      controller.abort();
      const thrown = await run.then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(DownloadError.isInstance(thrown) && thrown.code).toBe(ErrorCodes.Aborted);
      expect(
        codes.filter((code) => code !== 'ok').every((code) => code === ErrorCodes.Aborted),
      ).toBe(true);
      expect(codes.filter((code) => code === 'ok')).toEqual([]);
      await factory.close();
      await waitFor(() => server.connections() === 0 && server.openFiles() === 0, 5000, {
        message: () =>
          `server still sees ${server.connections()} connections, ${server.openFiles()} open files`,
      });
      await waitFor(() => resourceGrowth(baseline).length === 0, 3000, {
        message: () => `resources left: ${resourceGrowth(baseline).join(', ')}`,
      });
      expect(await readdir(dir)).toEqual([]);
    } finally {
      await server.stop();
      await rm(dir, { recursive: true, force: true });
    }
  }, 60_000);
});
