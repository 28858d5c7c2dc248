import type { RemoteMetadata } from '../contracts/remote-resource.js';

/** Hop-by-hop headers (RFC 9110 §7.6.1): they describe one connection, never the file. */
const HOP_BY_HOP = ['connection', 'keep-alive', 'transfer-encoding', 'te', 'trailer', 'upgrade'];

/** Headers that carry or ask for credentials, in either direction. */
const CREDENTIALS = [
  'set-cookie',
  'set-cookie2',
  'cookie',
  'authorization',
  'www-authenticate',
  'authentication-info',
];

/**
 * Headers about the upstream's connection, origin or framing rather than the
 * file: the streamer's own connection and framing replace them (an upstream
 * `Alt-Svc` or HSTS would otherwise be applied to the streamer's origin).
 */
const UPSTREAM_ONLY = [
  'content-length',
  'content-range',
  'date',
  'server',
  'alt-svc',
  'strict-transport-security',
  'content-location',
  'location',
  'retry-after',
];

/** All of the above in one set: one lookup per header of every response. */
const NEVER_FORWARDED = new Set([...HOP_BY_HOP, ...CREDENTIALS, ...UPSTREAM_ONLY]);

/**
 * The upstream's headers that may be passed to a client: everything except
 * hop-by-hop headers (and those the upstream's `Connection` names),
 * `Proxy-*`, credential headers and the upstream's own framing. Metadata
 * fields fill in what a protocol without headers knows (FTP, SFTP).
 */
export function forwardedHeaders(metadata: RemoteMetadata): Record<string, string> {
  const headers = metadata.headers;
  const connection = headers.connection;
  const named =
    connection === undefined
      ? undefined
      : new Set(
          connection
            .split(',')
            .map((token) => token.trim().toLowerCase())
            .filter(Boolean),
        );
  const out: Record<string, string> = {};
  for (const raw in headers) {
    const name = raw.toLowerCase();
    if (NEVER_FORWARDED.has(name) || name.startsWith('proxy-') || named?.has(name) === true) {
      continue;
    }
    out[name] = headers[raw]!;
  }
  if (out['content-type'] === undefined && metadata.contentType !== undefined)
    out['content-type'] = metadata.contentType;
  if (out.etag === undefined && metadata.etag !== undefined) out.etag = metadata.etag;
  if (out['last-modified'] === undefined && metadata.lastModified !== undefined)
    out['last-modified'] = metadata.lastModified;
  out['content-type'] ??= 'application/octet-stream';
  return out;
}
