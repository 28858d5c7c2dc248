import { readFileSync, renameSync, unlinkSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { Digests } from '../contracts/digests.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { redactUrl } from '../util/redact.js';
import { normalizeDigests } from '../validation/validation.js';
import { resumeProvable } from './resume-proof.js';

/**
 * Kept partials: the bytes of an interrupted download, kept so that the next
 * run over the same destination resumes them instead of starting from zero.
 *
 * - `.NAME.dl-resume` holds the bytes, `.NAME.dl-resume.json` its
 *   {@link ResumeRecord}; one pair per destination, in its folder. Nothing
 *   but `@dl/core` writes these names, and stale-temp cleanup never takes
 *   them for a live temp (`.NAME.HOST-PID.UNIQUE.dl-part`).
 * - A live temp past the threshold has its record next to it, as
 *   `TEMP.json` (`.NAME.HOST-PID.UNIQUE.dl-part.json`): a `kill -9` cannot
 *   rename anything, so the cleanup of a dead owner's temps adopts a temp
 *   that has a record (renames both to the kept names) instead of removing it.
 */
export const RESUME_SUFFIX = '.dl-resume';
/** The record of a kept partial (or of a live temp: `TEMP` + this). */
export const RECORD_SUFFIX = '.json';

/** Bytes a partial must hold before it is kept. */
export const DEFAULT_KEEP_PARTIAL_BYTES = 1024 * 1024;
/** How often (in bytes written) a live temp's record is brought up to date. */
export const RECORD_EVERY_BYTES = 16 * 1024 * 1024;

/** What is known about a kept partial. Plain JSON, no secret (the URL is redacted). */
export interface ResumeRecord {
  readonly dl: 1;
  /** The request's URL, without credentials. */
  readonly url: string;
  /** The request's expected size, if any. */
  readonly size?: number;
  /** The request's expected digests (lowercase), if any. */
  readonly digests?: Digests;
  /** The URL that served the bytes, its total size and validators. */
  readonly servedUrl?: string;
  readonly remoteSize?: number;
  readonly etag?: string;
  readonly lastModified?: string;
  /** Bytes known to be on disk when the record was written (the file may hold more after a kill). */
  readonly bytes: number;
  readonly updated: string;
}

/** The kept partial's paths for `destination`. */
export function keptPaths(destination: string): { data: string; record: string } {
  const data = join(dirname(destination), `.${basename(destination)}${RESUME_SUFFIX}`);
  return { data, record: data + RECORD_SUFFIX };
}

/** The record for `request`'s partial, from the metadata of its last attempt; undefined when nothing proves a resume (no validator, no digests). */
export function recordFor(
  request: DownloadRequest<unknown>,
  metadata: RemoteMetadata | undefined,
  bytes: number,
): ResumeRecord | undefined {
  if (metadata === undefined || request.range !== undefined) return undefined;
  if (!resumeProvable(request, metadata)) return undefined;
  const digests = normalizeDigests(request.digests);
  return {
    dl: 1,
    url: redactUrl(request.url),
    ...(request.size === undefined ? {} : { size: request.size }),
    ...(Object.keys(digests).length === 0 ? {} : { digests }),
    servedUrl: metadata.url,
    ...(metadata.size === undefined ? {} : { remoteSize: metadata.size }),
    ...(metadata.etag === undefined ? {} : { etag: metadata.etag }),
    ...(metadata.lastModified === undefined ? {} : { lastModified: metadata.lastModified }),
    bytes,
    updated: new Date().toISOString(),
  };
}

/** Reads a record; undefined when missing or not one of ours. Never throws. */
export function readRecord(path: string): ResumeRecord | undefined {
  try {
    const record = JSON.parse(readFileSync(path, 'utf8')) as Partial<ResumeRecord>;
    if (record.dl !== 1 || typeof record.url !== 'string' || typeof record.bytes !== 'number')
      return undefined;
    return record as ResumeRecord;
  } catch {
    return undefined;
  }
}

/** Why `record` does not belong to `request`, or undefined when it does. */
export function recordMismatch(
  record: ResumeRecord,
  request: DownloadRequest<unknown>,
): string | undefined {
  if (request.range !== undefined) return 'a range was asked for';
  if (record.url !== redactUrl(request.url)) return 'another URL';
  if (record.size !== request.size) return 'another expected size';
  let digests: Digests;
  try {
    digests = normalizeDigests(request.digests);
  } catch {
    return 'invalid digests';
  }
  const kept = record.digests ?? {};
  const keys = Object.keys(digests) as (keyof Digests)[];
  if (keys.length !== Object.keys(kept).length || keys.some((k) => kept[k] !== digests[k]))
    return 'other expected digests';
  return undefined;
}

/** The metadata a resume of `record` proves itself against (`resumeFrom`: If-Range, size, MDTM). */
export function resumeFromRecord(record: ResumeRecord): RemoteMetadata {
  return {
    url: record.servedUrl ?? record.url,
    offset: 0,
    headers: {},
    ...(record.remoteSize === undefined ? {} : { size: record.remoteSize }),
    ...(record.etag === undefined ? {} : { etag: record.etag }),
    ...(record.lastModified === undefined ? {} : { lastModified: record.lastModified }),
  };
}

/**
 * Settles a stale temp (its owner is gone): when it has a readable record
 * next to it (`TEMP.json`), it is adopted: renamed to its destination's kept
 * partial (`.NAME.dl-resume` and `.json`), replacing an older one; otherwise
 * it is removed, with a torn record if any. Returns what was done; never
 * throws for a file that vanished meanwhile.
 */
export function settleStaleTemp(tempPath: string, name: string): 'adopted' | 'removed' | 'gone' {
  const recordPath = tempPath + RECORD_SUFFIX;
  const record = readRecord(recordPath);
  try {
    if (record !== undefined) {
      const kept = keptPaths(join(dirname(tempPath), name));
      // The record first: a kill between the two renames leaves a record without data (ignored
      // and removed by the next lookup) and a stale temp without a record (removed), never
      // data without a record.
      renameSync(recordPath, kept.record);
      renameSync(tempPath, kept.data);
      return 'adopted';
    }
    unlinkQuietly(recordPath);
    unlinkSync(tempPath);
    return 'removed';
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return 'gone';
    throw error;
  }
}

export function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to remove.
  }
}
