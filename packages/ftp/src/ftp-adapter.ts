import { checkOptions, openLeased, serializeSecrets, type ProtocolAdapter } from '@dl/core';
import type { FtpAdapterOptions } from './ftp-adapter-options.js';
import { createFtpSession, type FtpSession, type FtpSessionInternals } from './ftp-session.js';

/**
 * The FTP and FTPS adapter (`ftp:`, `ftps:`), on basic-ftp. Its session
 * pools logged-in connections per host, never more than the per-host limit;
 * each connection carries one transfer at a time. Resumes with `REST`,
 * reports the size (from `SIZE`, or the `150` reply when the request already
 * expects a size) before the body, and maps reply codes to
 * `DownloadError` codes (421 and other 4xx retryable, 530 `auth-failed`,
 * 550 `not-found`).
 *
 * @example
 * ```ts
 * const factory = createDownloaderFactory({
 *   adapters: [ftp({ user: 'mirror', password: { env: 'FTP_PASSWORD' }, tls: 'explicit' })],
 * });
 * ```
 */
export function ftp(options: FtpAdapterOptions = {}): ProtocolAdapter<FtpSession> {
  checkOptions('ftp', options, {
    numbers: { timeoutMs: 1, idleTimeoutMs: 1, keepAliveIntervalMs: 0, maxConnectionsPerHost: 1 },
    oneOf: { tls: ['none', 'explicit'], ftpsMode: ['implicit', 'explicit'] },
    known: {
      user: true,
      password: true,
      tls: true,
      ftpsMode: true,
      ca: true,
      insecureSkipTlsVerify: true,
      timeoutMs: true,
      idleTimeoutMs: true,
      keepAliveIntervalMs: true,
      maxConnectionsPerHost: true,
      modificationTime: true,
    },
  });
  const frozen: FtpAdapterOptions = { ...options };
  return {
    name: 'ftp',
    schemes: ['ftp', 'ftps'],
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: (context) => createFtpSession(frozen, context),
    open: (session, request) => openLeased(session as FtpSessionInternals, request),
    toJSON: () => serializeSecrets(frozen, ['password']),
  };
}
