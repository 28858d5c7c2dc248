import { DIGEST_HEX_LENGTHS, type DigestAlgorithm } from '../contracts/digests.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { redactText } from '../util/redact.js';
import { normalizeDigests } from '../validation/validation.js';

/**
 * Parses a request's URL and checks every field before anything is opened,
 * so bad input fails fast with an error that names the field.
 */
export function checkRequest(request: DownloadRequest<unknown>): URL {
  if (request === null || typeof request !== 'object')
    throw invalid('A download request must be an object');
  const raw = request.url;
  let url: URL;
  try {
    url = raw instanceof URL ? raw : new URL(String(raw));
  } catch {
    throw invalid(`Invalid URL "${redactText(String(raw))}": not an absolute URL`);
  }
  const at = { url };
  if (request.size !== undefined && (!Number.isSafeInteger(request.size) || request.size < 0)) {
    throw invalid(
      `Invalid size ${String(request.size)}: must be a whole number of bytes, 0 or more`,
      at,
    );
  }
  normalizeDigests(request.digests, url.href);
  for (const algorithm of request.computeDigests ?? []) {
    if (DIGEST_HEX_LENGTHS[algorithm as DigestAlgorithm] === undefined) {
      throw invalid(`Unsupported digest algorithm "${String(algorithm)}" in computeDigests`, at);
    }
  }
  if (
    request.destination !== undefined &&
    (typeof request.destination !== 'string' || request.destination === '')
  ) {
    throw invalid('Invalid destination: must be a non-empty path', at);
  }
  if (request.destination !== undefined && request.destination.includes('\0')) {
    throw invalid('Invalid destination: contains a NUL byte', at);
  }
  if (request.destination !== undefined && request.writable !== undefined) {
    throw invalid('A request has either a destination or a writable, not both', at);
  }
  if (request.split !== undefined && (!Number.isSafeInteger(request.split) || request.split < 1)) {
    throw invalid(`Invalid split ${String(request.split)}: must be a whole number ≥ 1`, at);
  }
  if (request.ifChanged !== undefined) {
    if (request.destination === undefined)
      throw invalid('ifChanged needs a destination: the copy it describes', at);
    if (request.range !== undefined) throw invalid('ifChanged does not apply to a range', at);
  }
  const range = request.range;
  if (range !== undefined) {
    const badStart = !Number.isSafeInteger(range.start) || range.start < 0;
    const badEnd =
      range.end !== undefined && (!Number.isSafeInteger(range.end) || range.end < range.start);
    if (badStart || badEnd) throw invalid(`Invalid range ${range.start}-${range.end ?? ''}`, at);
  }
  return url;
}

function invalid(message: string, options: { url?: URL } = {}): DownloadError {
  return new DownloadError(message, { code: ErrorCodes.InvalidRequest, ...options });
}
