import { DownloadError, ErrorCodes, redactText, redactedError, toDownloadError } from '@dl/core';
import type { HostKeyVerdict } from './host-key-policy.js';

/** SFTP status codes (draft-ietf-secsh-filexfer-02). */
const NO_SUCH_FILE = 2;
const PERMISSION_DENIED = 3;

/** ssh2 and ssh2-sftp-client messages of a connection that broke (they carry no code). */
const BROKEN =
  /No response from server|Unexpected (close|end) event|Not connected|connection (lost|closed|reset)|ECONNRESET|socket/i;

/** The error for a host key the policy refused: names the fingerprint, never a secret. */
export function untrustedHostKey(
  verdict: Extract<HostKeyVerdict, { trusted: false }>,
  host: string,
  port: number,
  url: URL,
) {
  const what =
    verdict.reason === 'changed'
      ? 'does not match the known key (it changed, or someone is in the middle)'
      : verdict.reason === 'revoked'
        ? 'is revoked'
        : 'is not known';
  return new DownloadError(
    `The SSH host key of ${host}:${port} ${what}: ${verdict.keyType} ${verdict.fingerprint}. ` +
      'Add it to a known_hosts file or pin it in hostFingerprints after checking it out of band.',
    {
      code: ErrorCodes.UntrustedServer,
      url,
      details: {
        reason: verdict.reason,
        fingerprint: verdict.fingerprint,
        keyType: verdict.keyType,
        host,
        port,
      },
    },
  );
}

/**
 * Turns whatever ssh2 / ssh2-sftp-client threw into a `DownloadError`:
 * authentication failures, missing files, refused permissions, broken
 * connections (retryable) and timeouts (retryable). Messages never carry
 * `secrets` (passwords, passphrases, keys) nor URL userinfo.
 */
export function toSftpError(error: unknown, url: URL, secrets: readonly string[]): DownloadError {
  if (DownloadError.isInstance(error)) return error;
  const cause = redactedError(error, secrets, ['code', 'level']);
  const message = redactText(error instanceof Error ? error.message : String(error), secrets);
  const code = (error as { code?: unknown } | undefined)?.code;
  const level = (error as { level?: unknown } | undefined)?.level;
  if (level === 'client-authentication' || /authentication methods failed/i.test(message)) {
    return new DownloadError(
      'SSH authentication failed: the server accepted none of the configured methods',
      {
        code: ErrorCodes.AuthFailed,
        cause,
        url,
      },
    );
  }
  if (/privateKey|passphrase|private key/i.test(message)) {
    return new DownloadError(
      `The SSH private key cannot be used: ${message.replace(/^.*?(Cannot|Encrypted|Unsupported)/, '$1')}`,
      {
        code: ErrorCodes.AuthFailed,
        cause,
        url,
      },
    );
  }
  if (code === NO_SUCH_FILE || code === 'ENOENT' || /No such file/i.test(message)) {
    return new DownloadError('SFTP: no such file', { code: ErrorCodes.NotFound, cause, url });
  }
  if (code === PERMISSION_DENIED || code === 'EACCES' || /Permission denied/i.test(message)) {
    return new DownloadError('SFTP: permission denied', {
      code: ErrorCodes.AuthFailed,
      cause,
      url,
    });
  }
  if (level === 'client-timeout' || /Timed out/i.test(message)) {
    return new DownloadError(`SSH timeout: ${message}`, {
      code: ErrorCodes.Timeout,
      retryable: true,
      cause,
      url,
    });
  }
  if (typeof code === 'string') {
    const mapped = toDownloadError(cause, url);
    if (mapped.code !== ErrorCodes.Internal) return mapped;
  }
  if (level === 'client-socket' || level === 'protocol' || BROKEN.test(message)) {
    return new DownloadError(`SSH connection broke: ${message}`, {
      code: ErrorCodes.ConnectionFailed,
      retryable: true,
      cause,
      url,
    });
  }
  return new DownloadError(`SFTP failure: ${message}`, { code: ErrorCodes.Internal, cause, url });
}
