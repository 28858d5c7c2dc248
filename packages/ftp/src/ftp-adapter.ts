import {
  DownloadError,
  ErrorCodes,
  abortError,
  serializeSecret,
  type ProtocolAdapter,
} from '@dl/core';
import type { FtpAdapterOptions } from './ftp-adapter-options.js';
import { createFtpSession, type FtpSession, type FtpSessionInternals } from './ftp-session.js';
import { transfer } from './ftp-transfer.js';

function checkOptions(options: FtpAdapterOptions): void {
  for (const key of [
    'timeoutMs',
    'idleTimeoutMs',
    'keepAliveIntervalMs',
    'maxConnectionsPerHost',
  ] as const) {
    const value = options[key];
    const min = key === 'keepAliveIntervalMs' ? 0 : 1;
    if (value !== undefined && (!Number.isFinite(value) || value < min)) {
      throw new DownloadError(`ftp option ${key} must be a number >= ${min}`, {
        code: ErrorCodes.InvalidRequest,
      });
    }
  }
  if (options.tls !== undefined && options.tls !== 'none' && options.tls !== 'explicit') {
    throw new DownloadError(`ftp option tls must be 'none' or 'explicit'`, {
      code: ErrorCodes.InvalidRequest,
    });
  }
  if (
    options.ftpsMode !== undefined &&
    options.ftpsMode !== 'implicit' &&
    options.ftpsMode !== 'explicit'
  ) {
    throw new DownloadError(`ftp option ftpsMode must be 'implicit' or 'explicit'`, {
      code: ErrorCodes.InvalidRequest,
    });
  }
}

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
  checkOptions(options);
  const frozen: FtpAdapterOptions = { ...options };
  return {
    name: 'ftp',
    schemes: ['ftp', 'ftps'],
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: (context) => createFtpSession(frozen, context),
    async open(session, request) {
      const internals = session as FtpSessionInternals;
      const { signal, url } = request;
      if (signal.aborted) throw abortError(signal.reason, url);
      const target = internals.target(url);
      const lease = await internals.pool.acquire(target.poolHost, target.poolKey, target, signal);
      return transfer(internals, lease, target, request);
    },
    toJSON() {
      return {
        ...frozen,
        ...(frozen.password === undefined ? {} : { password: serializeSecret(frozen.password) }),
      };
    },
  };
}
