import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { fileAdapter, type ProtocolAdapter } from '@dl/core';
import type { FtpAdapterOptions } from '@dl/ftp';
import type { HttpAdapterOptions, HttpAuth, SecretRef } from '@dl/http';
import type { SftpAdapterOptions } from '@dl/sftp';
import { UsageError } from '../exit-codes.js';
import { systemReason } from '../system-reason.js';
import { lazyAdapter } from './lazy-adapter.js';
import type { TransferOptions } from './transfer-options.js';

/** Header names that carry credentials: never accepted as plain command-line text. */
const SECRET_HEADERS = new Set(['authorization', 'proxy-authorization', 'cookie']);

/**
 * The adapters for a `dl get` run, configured from its options. Secrets
 * stay references (`{ env }`, `{ file }`), checked here so a missing one is
 * a usage error before anything starts, and read by the adapters when their
 * sessions open. `defaultAuthOrigins` are the origins credentials go to when
 * `--auth-origin` is not given (the command-line URLs'). `httpModule` is the
 * loaded `@dl/http` when the run hands its factory over (`factory.toJSON()`
 * needs the real adapter's options); without it HTTP is loaded on first use.
 */
export function buildAdapters(
  options: TransferOptions,
  cwd: string,
  defaultAuthOrigins: readonly string[],
  httpModule?: typeof import('@dl/http'),
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
): ProtocolAdapter<any>[] {
  const httpAdapterOptions = httpOptions(options, cwd, defaultAuthOrigins);
  return [
    fileAdapter(),
    httpModule === undefined ? lazyHttp(httpAdapterOptions) : httpModule.http(httpAdapterOptions),
    lazyFtp(ftpOptions(options, cwd)),
    lazySftp(sftpOptions(options, cwd)),
  ];
}

const REMOTE_FILES = { resume: true, transfersPerConnection: 1, metadataBeforeBody: true };

// HTTP loads undici only when a URL needs it: a file: or FTP run never does.
function lazyHttp(options: HttpAdapterOptions) {
  return lazyAdapter(
    { name: 'http', schemes: ['http', 'https'], capabilities: REMOTE_FILES },
    async () => (await import('@dl/http')).http(options),
  );
}

// FTP and SFTP load their clients (basic-ftp, ssh2) only when a URL needs them.
// The options hold secrets only by reference, so they are their own plain data.
/** The `ftp` adapter, loaded when its first session opens (also the builder `dl worker` passes). */
export function lazyFtp(options: FtpAdapterOptions) {
  return lazyAdapter(
    { name: 'ftp', schemes: ['ftp', 'ftps'], capabilities: REMOTE_FILES },
    async () => (await import('@dl/ftp')).ftp(options),
    () => ({ ...options }),
  );
}

/** The `sftp` adapter, loaded when its first session opens (also the builder `dl worker` passes). */
export function lazySftp(options: SftpAdapterOptions) {
  return lazyAdapter(
    { name: 'sftp', schemes: ['sftp'], capabilities: REMOTE_FILES },
    async () => (await import('@dl/sftp')).sftp(options),
    () => ({ ...options }),
  );
}

function httpOptions(
  options: TransferOptions,
  cwd: string,
  defaultOrigins: readonly string[],
): HttpAdapterOptions {
  const headers: Record<string, string | SecretRef> = {};
  for (const raw of options.header) {
    const colon = raw.indexOf(':');
    const name = colon > 0 ? raw.slice(0, colon).trim() : '';
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) {
      throw new UsageError(`--header "${raw}": expected "Name: value"`);
    }
    if (SECRET_HEADERS.has(name.toLowerCase())) {
      throw new UsageError(
        `--header ${name}: credentials are not accepted on the command line (it is visible to other users); use --header-env ${name}=VARIABLE or --header-file ${name}=FILE`,
      );
    }
    headers[name] = raw.slice(colon + 1).trim();
  }
  for (const [flag, list, kind] of [
    ['--header-env', options.headerEnv, 'env'],
    ['--header-file', options.headerFile, 'file'],
  ] as const) {
    for (const raw of list) {
      const eq = raw.indexOf('=');
      if (eq <= 0 || eq === raw.length - 1)
        throw new UsageError(
          `${flag} "${raw}": expected NAME=${kind === 'env' ? 'VARIABLE' : 'FILE'}`,
        );
      headers[raw.slice(0, eq).trim()] = secretRef(kind, raw.slice(eq + 1), flag, cwd);
    }
  }

  const auth: HttpAuth[] = [];
  const origins =
    options.authOrigin.length > 0 ? options.authOrigin.map(checkOrigin) : defaultOrigins;
  const password = secretOf(options, 'httpPasswordEnv', 'httpPasswordFile', '--http-password', cwd);
  const token = secretOf(options, 'bearerTokenEnv', 'bearerTokenFile', '--bearer-token', cwd);
  if (options.httpUser !== undefined || password !== undefined || token !== undefined) {
    if (origins.length === 0) {
      throw new UsageError(
        'HTTP credentials need --auth-origin ORIGIN when the URLs come from a manifest: they are sent to those origins only',
      );
    }
  }
  if (password !== undefined && options.httpUser === undefined) {
    throw new UsageError('--http-password-env/--http-password-file need --http-user');
  }
  if (options.httpUser !== undefined) {
    if (password === undefined) {
      throw new UsageError(
        '--http-user needs --http-password-env VARIABLE or --http-password-file FILE',
      );
    }
    auth.push({ type: 'basic', username: options.httpUser, password, origins });
  }
  if (token !== undefined) auth.push({ type: 'bearer', token, origins });

  const tls: Record<string, unknown> = {};
  if (options.caBundle !== undefined) tls.ca = readablePath(options.caBundle, '--ca-bundle', cwd);
  if (options.cert !== undefined) tls.cert = readablePath(options.cert, '--cert', cwd);
  if (options.key !== undefined) tls.key = readablePath(options.key, '--key', cwd);
  if ((options.cert === undefined) !== (options.key === undefined)) {
    throw new UsageError('--cert and --key go together');
  }
  if (options.keyPassphraseEnv !== undefined) {
    tls.passphrase = secretRef('env', options.keyPassphraseEnv, '--key-passphrase-env', cwd);
  }

  let proxy: HttpAdapterOptions['proxy'];
  if (options.proxy !== undefined || options.proxyFromEnv) {
    if (
      options.proxy !== undefined &&
      /^[a-z][a-z0-9+.-]*:\/\/[^/@]*:[^/@]*@/i.test(options.proxy)
    ) {
      throw new UsageError(
        '--proxy: a password in the proxy URL is visible to other users; use --proxy-user with --proxy-password-env or --proxy-password-file',
      );
    }
    const proxyPassword = secretOf(
      options,
      'proxyPasswordEnv',
      'proxyPasswordFile',
      '--proxy-password',
      cwd,
    );
    proxy = {
      ...(options.proxy === undefined ? {} : { url: options.proxy }),
      ...(options.proxyUser === undefined ? {} : { username: options.proxyUser }),
      ...(proxyPassword === undefined ? {} : { password: proxyPassword }),
      ...(options.noproxy === undefined ? {} : { noProxy: options.noproxy }),
      fromEnvironment: options.proxyFromEnv,
    };
  }

  return {
    headers,
    ...(auth.length === 0 ? {} : { auth }),
    ...(Object.keys(tls).length === 0 ? {} : { tls }),
    ...(proxy === undefined ? {} : { proxy }),
    ...(options.userAgent === undefined ? {} : { userAgent: options.userAgent }),
    ...(options.http2 ? { allowH2: true } : {}),
    timeouts: {
      connect: options.connectTimeout,
      headers: options.idleTimeout,
      idle: options.idleTimeout,
      ...(options.maxTime === undefined ? {} : { total: options.maxTime }),
    },
    redirects: { max: options.maxRedirects },
  };
}

function ftpOptions(options: TransferOptions, cwd: string): FtpAdapterOptions {
  const password = secretOf(options, 'ftpPasswordEnv', 'ftpPasswordFile', '--ftp-password', cwd);
  if (password !== undefined && options.ftpUser === undefined) {
    throw new UsageError('--ftp-password-env/--ftp-password-file need --ftp-user');
  }
  return {
    ...(options.ftpUser === undefined ? {} : { user: options.ftpUser }),
    ...(password === undefined ? {} : { password }),
    tls: options.ftpTls ? 'explicit' : 'none',
    ftpsMode: options.ftpsMode,
    ...(options.caBundle === undefined
      ? {}
      : { ca: { file: readablePath(options.caBundle, '--ca-bundle', cwd) } }),
    timeoutMs: Math.max(options.connectTimeout, options.idleTimeout) || 30_000,
  };
}

function sftpOptions(options: TransferOptions, cwd: string): SftpAdapterOptions {
  const password = secretOf(options, 'sftpPasswordEnv', 'sftpPasswordFile', '--sftp-password', cwd);
  const fingerprints: Record<string, string[]> = {};
  for (const raw of options.hostFingerprint) {
    const eq = raw.indexOf('=');
    const host = raw.slice(0, eq).trim();
    const fingerprint = raw.slice(eq + 1).trim();
    if (eq <= 0 || !/^SHA256:[A-Za-z0-9+/]{43}=?$/.test(fingerprint)) {
      throw new UsageError(
        `--host-fingerprint "${raw}": expected HOST=SHA256:<base64> as ssh-keygen -lf prints it`,
      );
    }
    (fingerprints[host] ??= []).push(fingerprint);
  }
  if (options.sshKeyPassphraseEnv !== undefined && options.sshKey === undefined) {
    throw new UsageError('--ssh-key-passphrase-env needs --ssh-key');
  }
  return {
    ...(options.sftpUser === undefined ? {} : { username: options.sftpUser }),
    ...(password === undefined ? {} : { password }),
    ...(options.sshKey === undefined
      ? {}
      : { privateKey: { file: readablePath(options.sshKey, '--ssh-key', cwd) } }),
    ...(options.sshKeyPassphraseEnv === undefined
      ? {}
      : {
          passphrase: secretRef(
            'env',
            options.sshKeyPassphraseEnv,
            '--ssh-key-passphrase-env',
            cwd,
          ),
        }),
    ...(options.sshAgent ? { agent: true as const } : {}),
    ...(options.knownHosts.length === 0
      ? {}
      : { knownHosts: options.knownHosts.map((file) => readablePath(file, '--known-hosts', cwd)) }),
    ...(Object.keys(fingerprints).length === 0 ? {} : { hostFingerprints: fingerprints }),
    readyTimeoutMs: Math.max(options.connectTimeout, 1000),
  };
}

type SecretKey =
  | 'httpPasswordEnv'
  | 'httpPasswordFile'
  | 'bearerTokenEnv'
  | 'bearerTokenFile'
  | 'proxyPasswordEnv'
  | 'proxyPasswordFile'
  | 'ftpPasswordEnv'
  | 'ftpPasswordFile'
  | 'sftpPasswordEnv'
  | 'sftpPasswordFile';

function secretOf(
  options: TransferOptions,
  envKey: SecretKey,
  fileKey: SecretKey,
  flag: string,
  cwd: string,
): SecretRef | undefined {
  const env = options[envKey];
  const file = options[fileKey];
  if (env !== undefined && file !== undefined) {
    throw new UsageError(`${flag}-env and ${flag}-file: give one of them`);
  }
  if (env !== undefined) return secretRef('env', env, `${flag}-env`, cwd);
  if (file !== undefined) return secretRef('file', file, `${flag}-file`, cwd);
  return undefined;
}

function secretRef(kind: 'env' | 'file', value: string, flag: string, cwd: string): SecretRef {
  if (kind === 'file') return { file: readablePath(value, flag, cwd) };
  if (process.env[value] === undefined || process.env[value] === '') {
    throw new UsageError(`${flag} ${value}: the environment variable ${value} is not set`);
  }
  return { env: value };
}

function readablePath(path: string, flag: string, cwd: string): string {
  const full = resolve(cwd, path);
  try {
    accessSync(full, constants.R_OK);
  } catch (error) {
    throw new UsageError(`${flag} ${path}: the file cannot be read (${systemReason(error)})`);
  }
  return full;
}

function checkOrigin(raw: string): string {
  try {
    const url = new URL(raw);
    if (url.origin === 'null') throw new Error('opaque');
    return url.origin;
  } catch {
    throw new UsageError(`--auth-origin "${raw}": expected an origin such as https://example.com`);
  }
}
