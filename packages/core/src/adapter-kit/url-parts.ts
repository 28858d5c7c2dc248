import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/**
 * Percent-decodes one part of `url` (user, password, path). A malformed
 * escape (`%zz`, a lone `%`, bytes that are not UTF-8) is an `invalid-request`
 * error naming the URL without its credentials, never a `URIError`: the part
 * may be a password, and a URIError would end up in logs as an internal
 * failure.
 */
export function decodeUrlPart(part: string, url: URL): string {
  try {
    return decodeURIComponent(part);
  } catch {
    throw new DownloadError('The URL has a malformed percent-encoding', {
      code: ErrorCodes.InvalidRequest,
      url,
    });
  }
}

/**
 * The host of `url` as a socket connects to it: an IPv6 address without its
 * brackets. A URL without a host is an `invalid-request` error.
 */
export function urlHost(url: URL): string {
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  if (host === '') {
    throw new DownloadError('The URL has no host', { code: ErrorCodes.InvalidRequest, url });
  }
  return host;
}
