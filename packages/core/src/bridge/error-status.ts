import type { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * The status a client gets for a download that failed before its first byte.
 * The upstream's credentials, limits and protocol are the streamer's
 * business, so most failures are a gateway error, not the client's fault.
 */
export function errorStatus(error: DownloadError): number {
  switch (error.code) {
    case ErrorCodes.NotFound:
      return 404;
    case ErrorCodes.Timeout:
      return 504;
    case ErrorCodes.Closed:
      return 503;
    case ErrorCodes.InvalidRequest:
    case ErrorCodes.UnsupportedScheme:
    case ErrorCodes.Internal:
      return 500;
    default:
      return 502;
  }
}
