import type { RemoteMetadata } from '../contracts/remote-resource.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the file. */
const HOP_BY_HOP = new Set([
  'connection',
  'keep-alive',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
]);

/** Headers that carry or ask for credentials, in either direction. */
const CREDENTIALS = new Set([
  'set-cookie',
  'set-cookie2',
  'cookie',
  'authorization',
  'www-authenticate',
  'authentication-info',
]);

/**
 * Headers about the upstream's connection, origin or framing rather than the
 * file: the streamer's own connection and framing replace them (an upstream
 * `Alt-Svc` or HSTS would otherwise be applied to the streamer's origin).
 */
const UPSTREAM_ONLY = new Set([
  'content-length',
  'content-range',
  'date',
  'server',
  'alt-svc',
  'strict-transport-security',
  'content-location',
  'location',
  'retry-after',
]);

/**
 * The upstream's headers that may be passed to a client: everything except
 * hop-by-hop headers (and those the upstream's `Connection` names),
 * `Proxy-*`, credential headers and the upstream's own framing. Metadata
 * fields fill in what a protocol without headers knows (FTP, SFTP).
 */
export function forwardedHeaders(metadata: RemoteMetadata): Record<string, string> {
  const named = new Set(
    (metadata.headers.connection ?? '')
      .split(',')
      .map((token) => token.trim().toLowerCase())
      .filter(Boolean),
  );
  const out: Record<string, string> = {};
  for (const [raw, value] of Object.entries(metadata.headers)) {
    const name = raw.toLowerCase();
    if (
      HOP_BY_HOP.has(name) ||
      named.has(name) ||
      name.startsWith('proxy-') ||
      CREDENTIALS.has(name) ||
      UPSTREAM_ONLY.has(name)
    ) {
      continue;
    }
    out[name] = value;
  }
  if (out['content-type'] === undefined && metadata.contentType !== undefined)
    out['content-type'] = metadata.contentType;
  if (out.etag === undefined && metadata.etag !== undefined) out.etag = metadata.etag;
  if (out['last-modified'] === undefined && metadata.lastModified !== undefined)
    out['last-modified'] = metadata.lastModified;
  out['content-type'] ??= 'application/octet-stream';
  return out;
}
