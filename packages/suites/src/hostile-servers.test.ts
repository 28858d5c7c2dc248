import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDownloaderFactory,
  ErrorCodes,
  type DownloadError,
  type DownloadOutcome,
  type ErrorCode,
} from '@dl/core';
import { ftp } from '@dl/ftp';
import { http } from '@dl/http';
import { sftp } from '@dl/sftp';
import {
  activeResources,
  capturingLogger,
  createTestCertificate,
  generatedContent,
  resourceGrowth,
  startFaultProxy,
  startHttpFixture,
  startSshd,
  startVsftpd,
  waitFor,
  type FaultProxy,
  type HttpFixture,
  type RunningSshd,
  type RunningVsftpd,
} from '@dl/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonLines, runDl } from './support/run-dl.js';
import { writeServed } from './support/served-files.js';
import { certificateFor, startTlsServer, type TlsServer } from './support/tls-servers.js';
import { sha256, tempFilesUnder } from './support/tree.js';

/** Secrets given in URLs and options: none may appear in any error, log line or result. */
const URL_SECRET = 'Url-pw-9Kd3';
const TOKEN = 'Bearer-tok-5Rt8';
const SSH_PASSWORD = 'Ssh-pw-2Lm6';
const FTP_SECRET = 'Ftp-pw-3Xs1';
const SECRETS = [URL_SECRET, TOKEN, SSH_PASSWORD, FTP_SECRET];
const SIZE = 30_000;

/** A server that answers every request with a status line and then headers that never end. */
async function startEndlessHeaders(): Promise<{
  port: number;
  open(): number;
  stop(): Promise<void>;
}> {
  const sockets = new Set<Socket>();
  const server: Server = createServer((socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
    socket.on('error', () => {});
    socket.once('data', () => {
      socket.write('HTTP/1.1 200 OK\r\n');
      let n = 0;
      const more = () => {
        while (!socket.destroyed && socket.write(`X-Filler-${n++}: ${'a'.repeat(100)}\r\n`));
        if (!socket.destroyed) socket.once('drain', more);
      };
      more();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    open: () => sockets.size,
    stop: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

interface Case {
  readonly name: string;
  readonly url: string;
  /** What the error must be; `ok` for the good downloads of the batch. */
  readonly want: ErrorCode | 'ok';
  /** Text the error must contain to name the culprit. */
  readonly names?: string;
  readonly size?: number;
}

describe('hostile servers: one batch, each failure typed and named, no secret shown, the rest unaffected', () => {
  let dir: string;
  let web: HttpFixture;
  let headers: Awaited<ReturnType<typeof startEndlessHeaders>>;
  let trusted: TlsServer;
  let unknownCa: TlsServer;
  let wrongName: TlsServer;
  let ftpd: RunningVsftpd;
  let ftps: RunningVsftpd;
  let sshd: RunningSshd;
  let wrongKey: FaultProxy;
  let unknownHost: FaultProxy;
  let trustedCa: string;
  let wrongNameCa: string;
  const data = generatedContent('/good.bin', SIZE);
  const digest = sha256(data);

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'dl-hostile-servers-'));
    const [testCert, unknownCert, wrongCert] = await Promise.all([
      createTestCertificate(dir),
      certificateFor(dir, 'unknown-ca', 'IP:127.0.0.1,DNS:localhost'),
      certificateFor(dir, 'wrong.example', 'DNS:wrong.example'),
    ]);
    trustedCa = testCert.cert;
    wrongNameCa = wrongCert.cert;
    [web, headers, ftpd, ftps, sshd] = await Promise.all([
      startHttpFixture(),
      startEndlessHeaders(),
      startVsftpd(),
      startVsftpd({ tls: 'implicit' }),
      startSshd({ user: { name: 'dlhostile', password: SSH_PASSWORD } }),
    ]);
    web.put('/good.bin', data);
    web.route('/endless-body', (_req, res) => {
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      const chunk = Buffer.alloc(64 * 1024, 0x61);
      const pump = () => {
        while (!res.destroyed && res.write(chunk));
        if (!res.destroyed) res.once('drain', pump);
      };
      pump();
    });
    web.redirect('/loop-a', '/loop-b');
    web.redirect('/loop-b', '/loop-a');
    for (let i = 0; i < 20; i++) web.redirect(`/chain/${i}`, `/chain/${i + 1}`);
    web.redirect('/to-file', 'file:///etc/passwd');
    web.redirect('/to-ftp', ftpd.url('good.bin'));
    const goodHandler =
      (path: string) =>
      (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => {
        if (req.url === '/downgrade') {
          res.writeHead(302, { location: web.url('/good.bin') });
          res.end();
        } else if (req.url === path) {
          res.writeHead(200, { 'content-length': String(SIZE) });
          res.end(data);
        } else {
          res.writeHead(404);
          res.end();
        }
      };
    [trusted, unknownCa, wrongName] = await Promise.all([
      startTlsServer(testCert, goodHandler('/good.bin')),
      startTlsServer(unknownCert, goodHandler('/good.bin')),
      startTlsServer(wrongCert, goodHandler('/good.bin')),
    ]);
    await writeServed(ftpd.root, 'good.bin', data);
    await writeServed(ftps.root, 'good.bin', data);
    await writeServed(sshd.root, 'good.bin', data);
    // The same sshd on two more ports: one with another key on record, one with none.
    [wrongKey, unknownHost] = await Promise.all([
      startFaultProxy({ target: { host: '127.0.0.1', port: sshd.port } }),
      startFaultProxy({ target: { host: '127.0.0.1', port: sshd.port } }),
    ]);
    const other = await sshd.generateKey();
    await writeFile(
      join(dir, 'known_hosts'),
      `${sshd.knownHostsLine}\n[127.0.0.1]:${wrongKey.port} ${other.publicKey.openssh}\n`,
    );
  });

  afterAll(async () => {
    await Promise.all([wrongKey?.stop(), unknownHost?.stop()]);
    await Promise.all([
      web?.stop(),
      headers?.stop(),
      trusted?.stop(),
      unknownCa?.stop(),
      wrongName?.stop(),
      ftpd?.stop(),
      ftps?.stop(),
      sshd?.stop(),
    ]);
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  function cases(): Case[] {
    const withSecret = (url: string) => url.replace('://', `://user:${URL_SECRET}@`);
    const sftpAt = (port: number) =>
      `sftp://${sshd.username}@127.0.0.1:${port}${sshd.root}/good.bin`;
    return [
      { name: 'http good', url: web.url('/good.bin'), want: 'ok' },
      { name: 'https good', url: `${trusted.origin}/good.bin`, want: 'ok' },
      { name: 'ftp good', url: ftpd.url('good.bin'), want: 'ok' },
      { name: 'sftp good', url: sftpAt(sshd.port), want: 'ok' },
      {
        name: 'endless headers',
        url: withSecret(`http://127.0.0.1:${headers.port}/file.bin`),
        want: ErrorCodes.ProtocolError,
        names: `127.0.0.1:${headers.port}/file.bin`,
      },
      {
        name: 'endless body',
        url: withSecret(web.url('/endless-body')),
        want: ErrorCodes.SizeMismatch,
        names: '/endless-body',
        size: SIZE,
      },
      {
        name: 'redirect loop',
        url: withSecret(web.url('/loop-a')),
        want: ErrorCodes.RedirectRefused,
        names: '/loop-',
      },
      {
        name: 'redirect chain',
        url: web.url('/chain/0'),
        want: ErrorCodes.RedirectRefused,
        names: '/chain/',
      },
      {
        name: 'redirect to file:',
        url: withSecret(web.url('/to-file')),
        want: ErrorCodes.RedirectRefused,
        names: 'file:',
      },
      {
        name: 'redirect to ftp:',
        url: web.url('/to-ftp'),
        want: ErrorCodes.RedirectRefused,
        names: 'ftp:',
      },
      {
        name: 'https to http downgrade',
        url: withSecret(`${trusted.origin}/downgrade`),
        want: ErrorCodes.RedirectRefused,
        names: `127.0.0.1:${trusted.port}/downgrade`,
      },
      {
        name: 'self-signed certificate',
        url: withSecret(`${unknownCa.origin}/good.bin`),
        want: ErrorCodes.UntrustedServer,
        names: `127.0.0.1:${unknownCa.port}`,
      },
      {
        name: 'certificate for another name',
        url: withSecret(`${wrongName.origin}/good.bin`),
        want: ErrorCodes.UntrustedServer,
        names: `127.0.0.1:${wrongName.port}`,
      },
      {
        name: 'ftps certificate not trusted',
        url: `ftps://ftpuser:${FTP_SECRET}@127.0.0.1:${ftps.port}/good.bin`,
        want: ErrorCodes.UntrustedServer,
        names: `127.0.0.1:${ftps.port}`,
      },
      {
        name: 'ssh host key changed',
        url: sftpAt(wrongKey.port),
        want: ErrorCodes.UntrustedServer,
        names: `127.0.0.1:${wrongKey.port}`,
      },
      {
        name: 'ssh host unknown',
        url: sftpAt(unknownHost.port),
        want: ErrorCodes.UntrustedServer,
        names: `127.0.0.1:${unknownHost.port}`,
      },
    ];
  }

  it('endless headers and bodies, redirect loops and escapes, untrusted certificates and host keys: each its own typed error', async () => {
    const log = capturingLogger();
    const baseline = activeResources();
    const factory = createDownloaderFactory({
      adapters: [
        http({
          tls: { ca: [trustedCa, wrongNameCa] },
          auth: { type: 'bearer', token: TOKEN },
          timeouts: { headers: 5000, idle: 5000 },
        }),
        ftp({ timeoutMs: 5000 }),
        sftp({
          username: sshd.username,
          password: SSH_PASSWORD,
          knownHosts: join(dir, 'known_hosts'),
        }),
      ],
      retry: { maxAttempts: 3, baseDelayMs: 5, maxDelayMs: 20 },
      logger: log,
    });
    const outcomes: DownloadOutcome<Case>[] = [];
    const out = join(dir, 'out');
    const list = cases();
    try {
      for await (const outcome of factory.downloadAll(
        list.map((c, i) => ({
          url: c.url,
          destination: join(out, `${i}.bin`),
          ...(c.size === undefined ? {} : { size: c.size }),
          ...(c.want === 'ok' ? { digests: { sha256: digest } } : {}),
          context: c,
        })),
      )) {
        outcomes.push(outcome);
      }
    } finally {
      await factory.close();
    }

    expect(outcomes).toHaveLength(list.length);
    const problems: string[] = [];
    const shown: string[] = [...log.lines];
    for (const outcome of outcomes) {
      const c = outcome.context;
      if (outcome.ok) {
        shown.push(JSON.stringify(outcome.result));
        if (c.want !== 'ok') problems.push(`${c.name}: succeeded`);
        else if (sha256(await readFile(outcome.result.path!)) !== digest) {
          problems.push(`${c.name}: wrong bytes`);
        }
        continue;
      }
      const error: DownloadError = outcome.error;
      const text = [error.message, JSON.stringify(error), error.stack, String(error.cause)].join(
        '\n',
      );
      shown.push(text);
      if (c.want === 'ok') {
        problems.push(`${c.name}: ${error.code} ${error.message}`);
        continue;
      }
      if (error.code !== c.want)
        problems.push(`${c.name}: ${error.code} (want ${c.want}): ${error.message}`);
      const where = `${error.message} ${error.url ?? ''}`;
      if (c.names !== undefined && !where.includes(c.names)) {
        problems.push(`${c.name}: "${where}" does not name ${c.names}`);
      }
      const transient: readonly string[] = [ErrorCodes.ProtocolError];
      if (error.retryable !== transient.includes(error.code)) {
        problems.push(`${c.name}: retryable ${error.retryable} for ${error.code}`);
      }
    }
    expect(problems).toEqual([]);
    for (const secret of SECRETS) expect(shown.join('\n')).not.toContain(secret);
    expect(await tempFilesUnder(out)).toEqual([]);

    // Nothing stays open: here or on any server's side.
    await waitFor(
      () =>
        web.stats().connections === 0 &&
        headers.open() === 0 &&
        trusted.connections() + unknownCa.connections() + wrongName.connections() === 0 &&
        ftpd.connections() + ftps.connections() === 0 &&
        sshd.connections() === 0,
      {
        timeoutMs: 5000,
        message: () =>
          `still open: http ${web.stats().connections}, endless headers ${headers.open()}, https ${trusted.connections()}/${unknownCa.connections()}/${wrongName.connections()}, ftp ${ftpd.connections()}/${ftps.connections()}, sftp ${sshd.connections()}`,
      },
    );
    await waitFor(() => resourceGrowth(baseline).length === 0, {
      message: () => resourceGrowth(baseline).join(', '),
    });
  });
  it('dl get against the same servers: typed errors per line, exit 1, the good files downloaded, no secret printed', async () => {
    await writeFile(join(dir, 'ca.pem'), trustedCa);
    await writeFile(join(dir, 'ssh-password'), SSH_PASSWORD);
    const list = cases().filter((c) => !c.url.startsWith('ftps:'));
    await writeFile(
      join(dir, 'hostile.jsonl'),
      list
        .map((c, i) =>
          JSON.stringify({
            url: c.url,
            path: `${i}.bin`,
            ...(c.size === undefined ? {} : { size: c.size }),
          }),
        )
        .join('\n'),
    );
    const origins = [...new Set(list.map((c) => new URL(c.url).origin))].filter((o) =>
      o.startsWith('http'),
    );
    const run = await runDl(
      [
        'get',
        '-i',
        'hostile.jsonl',
        '-o',
        'out-cli',
        '--json',
        '--retries',
        '1',
        '--ca-bundle',
        join(dir, 'ca.pem'),
        '--http-user',
        'someone',
        '--http-password-env',
        'DL_TEST_HTTP_PASSWORD',
        ...origins.flatMap((origin) => ['--auth-origin', origin]),
        '--sftp-user',
        sshd.username,
        '--sftp-password-file',
        join(dir, 'ssh-password'),
        '--known-hosts',
        join(dir, 'known_hosts'),
      ],
      { cwd: dir, env: { DL_TEST_HTTP_PASSWORD: TOKEN } },
    );
    const everything = `${run.stdout}\n${run.stderr}`;
    for (const secret of SECRETS) expect(everything).not.toContain(secret);
    expect(run.code, run.stderr).toBe(1);
    const { records, summary } = jsonLines(run.stdout);
    list.forEach((c, i) => {
      const record = records.find((r) => r.line === i + 1) as
        { ok: boolean; error: { code: string } | null } | undefined;
      expect(record, `${c.name} in ${run.stdout}`).toBeDefined();
      if (c.want === 'ok') expect(record!.ok, c.name).toBe(true);
      else expect(record!.error?.code, c.name).toBe(c.want);
    });
    const good = list.filter((c) => c.want === 'ok').length;
    expect(summary).toMatchObject({ ok: good, failed: list.length - good });
  });
});
