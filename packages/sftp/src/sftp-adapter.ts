import { checkOptions, openLeased, serializeSecrets, type ProtocolAdapter } from '@dl/core';
import { checkFingerprintPins } from './host-key-policy.js';
import type { SftpAdapterOptions } from './sftp-adapter-options.js';
import { createSftpSession, type SftpSession, type SftpSessionInternals } from './sftp-session.js';

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
  checkOptions('sftp', options, {
    numbers: {
      readyTimeoutMs: 1,
      keepAliveIntervalMs: 0,
      idleTimeoutMs: 1,
      maxConnectionsPerHost: 1,
      chunkSize: 1,
    },
    known: {
      username: true,
      password: true,
      privateKey: true,
      passphrase: true,
      agent: true,
      knownHosts: true,
      hostFingerprints: true,
      insecureSkipHostKeyCheck: true,
      readyTimeoutMs: true,
      keepAliveIntervalMs: true,
      idleTimeoutMs: true,
      maxConnectionsPerHost: true,
      chunkSize: true,
    },
  });
  checkFingerprintPins(options.hostFingerprints);
  const frozen: SftpAdapterOptions = { ...options };
  return {
    name: 'sftp',
    schemes: ['sftp'],
    capabilities: { resume: true, transfersPerConnection: 1, metadataBeforeBody: true },
    createSession: (context) => createSftpSession(frozen, context),
    open: (session, request) => openLeased(session as SftpSessionInternals, request),
    toJSON: () => serializeSecrets(frozen, ['password', 'privateKey', 'passphrase']),
  };
}
