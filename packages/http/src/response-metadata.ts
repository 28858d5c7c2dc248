import type { IncomingHttpHeaders } from 'node:http';
import { redactUrl, type RemoteMetadata } from '@dl/core';
import { parseDigestHeaders } from './digest-header.js';

/** Response headers never passed on: they may carry session secrets. */
const WITHHELD = new Set(['set-cookie', 'set-cookie2', 'www-authenticate', 'proxy-authenticate']);
/** Headers that stop being true once the body is decoded. */
const ENCODING_HEADERS = new Set([
  'content-encoding',
  'content-length',
  'content-range',
  'content-digest',
  'repr-digest',
  'digest',
]);

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
  for (const name in raw) {
    const value = raw[name];
    if (value === undefined || WITHHELD.has(name)) continue;
    if (facts.decoded && ENCODING_HEADERS.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  // Built by assignment, optional fields only when known: conditional spreads
  // allocate a throwaway object each, for every response.
  const metadata: { -readonly [K in keyof RemoteMetadata]: RemoteMetadata[K] } = {
    url: redactUrl(facts.url),
    offset: facts.offset,
    status: facts.status,
    headers,
  };
  if (!facts.decoded) {
    if (facts.size !== undefined) metadata.size = facts.size;
    if (facts.length !== undefined) metadata.length = facts.length;
  }
  const contentType = headers['content-type'];
  if (contentType !== undefined) metadata.contentType = contentType;
  if (headers.etag !== undefined) metadata.etag = headers.etag;
  const lastModified = headers['last-modified'];
  if (lastModified !== undefined) metadata.lastModified = lastModified;
  if (!facts.decoded) {
    const digests = parseDigestHeaders(raw, { contentIsRepresentation: facts.status === 200 });
    if (digests !== undefined) metadata.digests = digests;
  }
  return metadata;
}

/** A well-formed `Content-Length`, or `undefined`. */
export function contentLength(headers: IncomingHttpHeaders): number | undefined {
  const value = headers['content-length'];
  if (typeof value !== 'string' || !/^\d+$/.test(value.trim())) return undefined;
  const n = Number(value);
  return Number.isSafeInteger(n) ? n : undefined;
}
