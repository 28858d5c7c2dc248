import { redactUrl, type DownloadRequest } from '@dl/core';
import { resolveDestination } from '../destination.js';
import type { ManifestEntry } from '../manifest/manifest-entry.js';
import type { FinishedRecord } from '../output/finished-record.js';
import type { EntryContext } from './entry-context.js';

/** An entry turned into a request, or the record of why it cannot be one. */
export type PlannedEntry =
  | { readonly ok: true; readonly request: DownloadRequest<EntryContext> & { destination: string } }
  | { readonly ok: false; readonly record: FinishedRecord };

/** Places an entry under `outDir` and builds its request; traversal is refused here. */
export function planEntry(
  entry: ManifestEntry,
  outDir: string,
  line: number | undefined,
): PlannedEntry {
  const destination = resolveDestination(outDir, entry.path, entry.url);
  if (!destination.ok) {
    return {
      ok: false,
      record: badRecord(destination.reason, line, {
        url: redactUrl(entry.url),
        ...(entry.path === undefined ? {} : { path: entry.path }),
      }),
    };
  }
  const verified = entry.digests !== undefined && Object.keys(entry.digests).length > 0;
  return {
    ok: true,
    request: {
      url: entry.url,
      destination: destination.path,
      ...(entry.size === undefined ? {} : { size: entry.size }),
      ...(entry.digests === undefined ? {} : { digests: entry.digests }),
      context: { ...(line === undefined ? {} : { line }), path: destination.path, verified },
    },
  };
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
