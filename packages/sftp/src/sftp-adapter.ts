import {
  DownloadError,
  ErrorCodes,
  abortError,
  serializeSecret,
  type ProtocolAdapter,
} from '@dl/core';
import type { SftpAdapterOptions } from './sftp-adapter-options.js';
import { createSftpSession, type SftpSession, type SftpSessionInternals } from './sftp-session.js';
import { transfer } from './sftp-transfer.js';

function checkOptions(options: SftpAdapterOptions): void {
  const numbers = [
    'readyTimeoutMs',
    'keepAliveIntervalMs',
    'idleTimeoutMs',
    'maxConnectionsPerHost',
    'chunkSize',
  ] as const;
  for (const key of numbers) {
    const value = options[key];
    const min = key === 'keepAliveIntervalMs' ? 0 : 1;
    if (value !== undefined && (!Number.isFinite(value) || value < min)) {
      throw new DownloadError(`sftp option ${key} must be a number >= ${min}`, {
        code: ErrorCodes.InvalidRequest,
      });
    }
  }
  for (const [host, pins] of Object.entries(options.hostFingerprints ?? {})) {
    for (const pin of typeof pins === 'string' ? [pins] : pins) {
      if (!/^(SHA256:)?[A-Za-z0-9+/]{43}=?$/.test(pin)) {
        throw new DownloadError(
          `sftp option hostFingerprints["${host}"]: expected SHA256:<base64>, got "${pin}"`,
          {
            code: ErrorCodes.InvalidRequest,
          },
        );
      }
    }
  }
}

/**
 * The SFTP adapter (`sftp:`), on ssh2-sftp-client. Its session pools SSH
 * connections per host, never more than the per-host limit; each carries
 * one transfer at a time. Host keys are verified against known_hosts files
 * and pinned fingerprints (an unknown or changed key is an `untrusted-server`
 * error naming its fingerprint); reads stream from an offset (resume) on
 * the SFTP channel directly, and the size comes from stat before the body.
 *
 * @example
 * ```ts
 * const factory = createDownloaderFactory({
 *   adapters: [sftp({ username: 'mirror', privateKey: { file: '/run/secrets/id_ed25519' } })],
 * });
 * ```
 */
export function sftp(options: SftpAdapterOptions = {}): ProtocolAdapter<SftpSession> {
  checkOptions(options);
  const frozen: SftpAdapterOptions = { ...options };
  return {
    name: 'sftp',
    schemes: ['sftp'],
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: (context) => createSftpSession(frozen, context),
    async open(session, request) {
      const internals = session as SftpSessionInternals;
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
        ...(frozen.privateKey === undefined
          ? {}
          : { privateKey: serializeSecret(frozen.privateKey) }),
        ...(frozen.passphrase === undefined
          ? {}
          : { passphrase: serializeSecret(frozen.passphrase) }),
      };
    },
  };
}
