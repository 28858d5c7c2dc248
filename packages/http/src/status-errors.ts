import { STATUS_CODES } from 'node:http';
import { DownloadError, ErrorCodes, redactUrl, type ErrorCode } from '@dl/core';
import { parseRetryAfter } from './retry-after.js';

/** Statuses that say "try again later". */
const TRANSIENT = new Set([408, 425, 429, 500, 502, 503, 504]);

/**
 * The error for a final status that is not a success: 404/410 `not-found`,
 * 401/403/407 `auth-failed`, transient statuses (408, 425, 429, 5xx except
 * 501 and 505) retryable `remote-unavailable` with the `Retry-After` hint,
 * anything else `remote-rejected`. The message names the URL, redacted
 * (no userinfo, no secret query values), as does `url`.
 */
export function statusError(
  status: number,
  retryAfter: string | undefined,
  url: URL,
): DownloadError {
  const text = STATUS_CODES[status] ?? 'Unknown';
  const retryable = TRANSIENT.has(status) || (status >= 500 && status !== 501 && status !== 505);
  const code: ErrorCode =
    status === 404 || status === 410
      ? ErrorCodes.NotFound
      : status === 401 || status === 403 || status === 407
        ? ErrorCodes.AuthFailed
        : retryable
          ? ErrorCodes.RemoteUnavailable
          : ErrorCodes.RemoteRejected;
  const retryAfterMs = retryable ? parseRetryAfter(retryAfter) : undefined;
  return new DownloadError(`HTTP ${status} ${text} for ${redactUrl(url)}`, {
    code,
    retryable,
    url,
    details: { status },
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
  });
}
