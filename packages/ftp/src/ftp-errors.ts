import {
  CERTIFICATE_ERROR_CODES,
  DownloadError,
  ErrorCodes,
  redactText,
  redactedError,
  toDownloadError,
} from '@dl/core';

/** basic-ftp's messages for a connection that broke (it gives them no code). */
const BROKEN_CONNECTION =
  /Server sent FIN packet|Server closed connection unexpectedly|Socket closed due to transmission error|None of the available transfer strategies|Can't open data connection|no data connection|Client is closed|closed connection/i;

/** The reply code of a basic-ftp `FTPError`, if `error` is one. */
export function replyCode(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | undefined)?.code;
  return (error as { name?: unknown } | undefined)?.name === 'FTPError' && typeof code === 'number'
    ? code
    : undefined;
}

/**
 * Turns whatever basic-ftp or the network threw into a `DownloadError`:
 * reply 421 and other 4xx are transient, 550 is not found, 530 is an auth
 * failure, other 5xx are rejections; certificate failures are untrusted
 * servers; broken connections and timeouts are retryable. Messages never
 * carry `secrets` (the password) nor URL userinfo.
 */
export function toFtpError(error: unknown, url: URL, secrets: readonly string[]): DownloadError {
  if (DownloadError.isInstance(error)) return error;
  const cause = redactedError(error, secrets);
  const message = redactText(error instanceof Error ? error.message : String(error), secrets);
  const reply = replyCode(error);
  if (reply !== undefined) {
    const text = message.replace(/\s+/g, ' ').trim();
    const details = { reply };
    if (reply === 530) {
      return new DownloadError(`FTP login refused: ${text}`, {
        code: ErrorCodes.AuthFailed,
        cause,
        url,
        details,
      });
    }
    if (reply === 550) {
      return new DownloadError(`FTP file unavailable: ${text}`, {
        code: ErrorCodes.NotFound,
        cause,
        url,
        details,
      });
    }
    if (reply >= 400 && reply < 500) {
      return new DownloadError(`FTP server busy or failing: ${text}`, {
        code: ErrorCodes.RemoteUnavailable,
        retryable: true,
        cause,
        url,
        details,
      });
    }
    return new DownloadError(`FTP server refused: ${text}`, {
      code: ErrorCodes.RemoteRejected,
      cause,
      url,
      details,
    });
  }
  const code = (error as { code?: unknown } | undefined)?.code;
  if (typeof code === 'string' && CERTIFICATE_ERROR_CODES.has(code)) {
    return new DownloadError(`The FTPS server's certificate could not be verified (${code})`, {
      code: ErrorCodes.UntrustedServer,
      cause,
      url,
      details: { tlsError: code },
    });
  }
  if (typeof code === 'string') {
    const mapped = toDownloadError(cause, url);
    if (mapped.code !== ErrorCodes.Internal) return mapped;
  }
  if (/^Timeout/.test(message)) {
    return new DownloadError(`FTP ${message.replace(/^Timeout/, 'timeout')}`, {
      code: ErrorCodes.Timeout,
      retryable: true,
      cause,
      url,
    });
  }
  if (BROKEN_CONNECTION.test(message)) {
    return new DownloadError(`FTP connection broke: ${message}`, {
      code: ErrorCodes.ConnectionFailed,
      retryable: true,
      cause,
      url,
    });
  }
  return new DownloadError(`FTP failure: ${message}`, { code: ErrorCodes.Internal, cause, url });
}
