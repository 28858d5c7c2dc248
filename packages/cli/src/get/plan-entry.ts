import { redactUrl, type DownloadRequest } from '@dl/core';
import { destinationsUnder } from '../destination.js';
import type { ManifestEntry } from '../manifest/manifest-entry.js';
import type { FinishedRecord } from '../output/finished-record.js';
import type { EntryContext } from './entry-context.js';

/** A request with its destination, as `dl get` hands it to the factory. */
export type PlannedRequest = DownloadRequest<EntryContext> & {
  readonly destination: string;
  readonly context: EntryContext;
};

/** An entry turned into a request, or the record of why it cannot be one. */
export type PlannedEntry =
  | { readonly ok: true; readonly request: PlannedRequest }
  | { readonly ok: false; readonly record: FinishedRecord };

/**
 * Places entries under `outDir` (resolved once) and builds their requests;
 * traversal is refused here. Returns the request, or the bad record of an
 * entry that cannot be one (`ok: false`).
 */
export function entryPlanner(
  outDir: string,
): (entry: ManifestEntry, line: number | undefined) => PlannedRequest | FinishedRecord {
  const destinationOf = destinationsUnder(outDir);
  return (entry, line) => {
    const destination = destinationOf(entry.path, entry.url);
    if (typeof destination !== 'string') {
      return badRecord(destination.reason, line, {
        url: redactUrl(entry.url),
        ...(entry.path === undefined ? {} : { path: entry.path }),
      });
    }
    const { size, digests } = entry;
    const verified = digests !== undefined && hasOwnKeys(digests);
    const context: { line?: number; path: string; verified: boolean } =
      line === undefined ? { path: destination, verified } : { line, path: destination, verified };
    const request: {
      url: URL;
      destination: string;
      size?: number;
      digests?: ManifestEntry['digests'];
      context: EntryContext;
    } = { url: entry.url, destination, context };
    if (size !== undefined) request.size = size;
    if (digests !== undefined) request.digests = digests;
    return request;
  };
}

function hasOwnKeys(object: object): boolean {
  for (const key in object) if (Object.hasOwn(object, key)) return true;
  return false;
}

/** True when `planned` is the record of an entry that cannot be downloaded. */
export function isBadRecord(planned: PlannedRequest | FinishedRecord): planned is FinishedRecord {
  return (planned as Partial<FinishedRecord>).ok === false;
}

/** The record of a line that cannot be downloaded. */
export function badRecord(
  reason: string,
  line: number | undefined,
  at: { url?: string; path?: string } = {},
): FinishedRecord {
  return {
    url: at.url ?? null,
    path: at.path ?? null,
    size: null,
    digests: {},
    ok: false,
    error: { code: 'invalid-request', message: reason },
    ...(line === undefined ? {} : { line }),
  };
}
