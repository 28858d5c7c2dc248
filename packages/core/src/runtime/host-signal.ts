import type { HostSignal } from '../contracts/admission-budget.js';
import type { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/** Connection failures that say the host (not the path) is overwhelmed or gone. */
const REFUSALS = new Set(['ECONNREFUSED', 'ECONNRESET']);

/**
 * What a failed attempt says about its host's load, if anything: HTTP 429
 * and 503 and FTP 421 ask us to slow down; a refused or reset connection
 * counts toward a burst the budget may act on. Anything else (a 404, a bad
 * digest) says nothing about load.
 */
export function hostSignalOf(error: DownloadError): HostSignal | undefined {
  const status = error.details.status;
  const reply = error.details.reply;
  if (status === 429 || status === 503 || reply === 421) {
    const reason = reply === 421 ? 'FTP 421' : `HTTP ${String(status)}`;
    return error.retryAfterMs === undefined
      ? { kind: 'throttled', reason }
      : { kind: 'throttled', reason, retryAfterMs: error.retryAfterMs };
  }
  if (error.code === ErrorCodes.ConnectionFailed) {
    const cause = error.cause as { code?: unknown } | undefined;
    const code = typeof cause?.code === 'string' ? cause.code : error.details.errno;
    if (typeof code === 'string' && REFUSALS.has(code)) return { kind: 'refused', reason: code };
  }
  return undefined;
}
