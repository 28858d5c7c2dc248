import type { IncomingHttpHeaders } from 'node:http';
import { redactUrl, type RemoteMetadata } from '@dl/core';
import { parseDigestHeaders } from './digest-header.js';

/** Response headers never passed on: they may carry session secrets. */
const WITHHELD = new Set(['set-cookie', 'set-cookie2', 'www-authenticate', 'proxy-authenticate']);
/** Headers that stop being true once the body is decoded. */
const ENCODING_HEADERS = [
  'content-encoding',
  'content-length',
  'content-range',
  'content-digest',
  'repr-digest',
  'digest',
];

/** What is known about the response beyond its headers. */
export interface MetadataFacts {
  readonly url: URL;
  readonly status: number;
  /** Where this body starts within the resource. */
  readonly offset: number;
  /** Size of the whole resource (a 206's complete length), when known. */
  readonly size: number | undefined;
  /** Body bytes this response will deliver, when known. */
  readonly length: number | undefined;
  /** True when the body is being decoded: lengths and digests of the encoded bytes do not apply. */
  readonly decoded: boolean;
}

/** The metadata the core and the streamer see, before the first body byte. */
export function responseMetadata(raw: IncomingHttpHeaders, facts: MetadataFacts): RemoteMetadata {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(raw)) {
    if (value === undefined || WITHHELD.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  if (facts.decoded) for (const name of ENCODING_HEADERS) delete headers[name];
  const length = facts.decoded ? undefined : facts.length;
  const digests = facts.decoded
    ? undefined
    : parseDigestHeaders(raw, { contentIsRepresentation: facts.status === 200 });
  const size = facts.decoded ? undefined : facts.size;
  return {
    url: redactUrl(facts.url),
    offset: facts.offset,
    status: facts.status,
    headers,
    ...(size === undefined ? {} : { size }),
    ...(length === undefined ? {} : { length }),
    ...(headers['content-type'] === undefined ? {} : { contentType: headers['content-type'] }),
    ...(headers.etag === undefined ? {} : { etag: headers.etag }),
    ...(headers['last-modified'] === undefined ? {} : { lastModified: headers['last-modified'] }),
    ...(digests === undefined ? {} : { digests }),
  };
}

/** A well-formed `Content-Length`, or `undefined`. */
export function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
