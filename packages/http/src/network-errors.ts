import {
  CERTIFICATE_ERROR_CODES,
  DownloadError,
  ErrorCodes,
  abortError,
  toDownloadError,
} from '@dl/core';

/** Certificate checks that failed: the server is not who it claims (a proxy's included). */
const UNTRUSTED = new Set([...CERTIFICATE_ERROR_CODES, 'UND_ERR_PRX_TLS']);

/** TLS alerts by which the server refused our client certificate (or its absence). */
export const CLIENT_CERT_REFUSED: ReadonlySet<string> = new Set([
  'ERR_SSL_TLSV13_ALERT_CERTIFICATE_REQUIRED',
  'ERR_SSL_SSLV3_ALERT_BAD_CERTIFICATE',
  'ERR_SSL_SSLV3_ALERT_HANDSHAKE_FAILURE',
  'ERR_SSL_TLSV1_ALERT_UNKNOWN_CA',
  'ERR_SSL_TLSV1_ALERT_ACCESS_DENIED',
  'ERR_SSL_SSLV3_ALERT_CERTIFICATE_UNKNOWN',
]);

const PROXY_STATUS = /Proxy response \((\d{3})\)|Proxy Authentication Required \((\d{3})\)/;

/** Why an attempt's own controller aborted, when it was not the caller. */
export type AbortCause =
  { readonly kind: 'total-timeout'; readonly ms: number } | { readonly kind: 'session-closed' };

/**
 * Turns what undici or Node threw into a `DownloadError`: timeouts, refused
 * or reset connections and handshake failures are retryable; certificate
 * failures are `untrusted-server`; a refused client certificate or proxy
 * login is `auth-failed`; the caller's abort is `aborted`.
 */
export function networkError(
  error: unknown,
  url: URL,
  callerSignal: AbortSignal,
  cause?: AbortCause,
): DownloadError {
  if (callerSignal.aborted) return abortError(callerSignal.reason, url);
  if (cause?.kind === 'total-timeout') {
    return new DownloadError(`The total timeout of ${cause.ms} ms elapsed`, {
      code: ErrorCodes.Timeout,
      retryable: true,
      url,
    });
  }
  if (cause?.kind === 'session-closed') {
    return new DownloadError('The http session was closed', { code: ErrorCodes.Closed, url });
  }
  if (DownloadError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | null)?.code;
  const message = error instanceof Error ? error.message : '';
  const at = { url, cause: error };
  switch (code) {
    case 'UND_ERR_CONNECT_TIMEOUT':
      return new DownloadError('Connecting timed out', {
        code: ErrorCodes.Timeout,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_HEADERS_TIMEOUT':
      return new DownloadError('Timed out waiting for the response headers', {
        code: ErrorCodes.Timeout,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_BODY_TIMEOUT':
      return new DownloadError('Timed out waiting for body data (idle timeout)', {
        code: ErrorCodes.Timeout,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_RES_CONTENT_LENGTH_MISMATCH':
      return new DownloadError('The body does not match its Content-Length', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_HEADERS_OVERFLOW':
      return new DownloadError('The response headers are larger than the limit (16 KiB)', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_INFO':
      // undici's word for an HTTP/2 session or stream that ended early (GOAWAY, reset, frame error).
      return new DownloadError(`The connection ended the request early (${message})`, {
        code: ErrorCodes.ConnectionFailed,
        retryable: true,
        ...at,
      });
    case 'UND_ERR_DESTROYED':
    case 'UND_ERR_CLOSED':
      return new DownloadError('The http session was closed', { code: ErrorCodes.Closed, ...at });
    case 'UND_ERR_INVALID_ARG':
      if (!PROXY_STATUS.test(message)) {
        return new DownloadError(`Invalid request: ${message}`, {
          code: ErrorCodes.InvalidRequest,
          ...at,
        });
      }
  }
  const proxyStatus = PROXY_STATUS.exec(message);
  if (proxyStatus) {
    const status = Number(proxyStatus[1] ?? proxyStatus[2]);
    if (status === 407) {
      return new DownloadError('The proxy refused the proxy credentials (HTTP 407)', {
        code: ErrorCodes.AuthFailed,
        ...at,
        details: { proxyStatus: status },
      });
    }
    return new DownloadError(`The proxy refused the tunnel (HTTP ${status})`, {
      code: status >= 500 ? ErrorCodes.ConnectionFailed : ErrorCodes.RemoteRejected,
      retryable: status >= 500,
      ...at,
      details: { proxyStatus: status },
    });
  }
  if (typeof code === 'string') {
    if (UNTRUSTED.has(code)) {
      return new DownloadError(`The server's certificate was not accepted (${code})`, {
        code: ErrorCodes.UntrustedServer,
        ...at,
      });
    }
    if (CLIENT_CERT_REFUSED.has(code)) {
      return new DownloadError(`The server refused the TLS client certificate (${code})`, {
        code: ErrorCodes.AuthFailed,
        ...at,
      });
    }
    if (code.startsWith('ERR_SSL_') || code.startsWith('ERR_TLS_')) {
      return new DownloadError(`The TLS handshake failed (${code})`, {
        code: ErrorCodes.ConnectionFailed,
        retryable: true,
        ...at,
      });
    }
    if (code.startsWith('HPE_') || (error as { name?: unknown }).name === 'HTTPParserError') {
      return new DownloadError('The response broke the HTTP protocol', {
        code: ErrorCodes.ProtocolError,
        retryable: true,
        ...at,
      });
    }
  }
  return toDownloadError(error, url);
}
