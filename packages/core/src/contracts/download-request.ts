import type { Writable } from 'node:stream';
import type { DigestAlgorithm, Digests } from './digests.js';
import type { ValidatorFactory } from './validator.js';

/**
 * One download. Only `url` is required. `C` is the caller's opaque context:
 * it comes back untouched on the result (or the failed outcome), which is how
 * an importer links a file to its artifact without keeping a table.
 */
export interface DownloadRequest<C = unknown> {
  /** What to download. Any scheme a registered adapter serves. */
  readonly url: string | URL;
  /**
   * Where the file goes. Written to a temp file in the same folder and renamed
   * into place only after validation succeeded. Folders are created.
   */
  readonly destination?: string;
  /** Write the validated bytes to this stream instead of a file (it is ended on success, destroyed on failure). */
  readonly writable?: Writable;
  /** Expected size in bytes; a larger body fails as soon as it overruns. */
  readonly size?: number;
  /** Expected digests (lowercase or uppercase hex); every one given is checked. */
  readonly digests?: Digests;
  /** More digests to compute in the same pass and report on the result. */
  readonly computeDigests?: readonly DigestAlgorithm[];
  /** Custom validators, fed every chunk next to the built-in size and digest checks. */
  readonly validators?: readonly ValidatorFactory[];
  /** Extra protocol headers (HTTP). */
  readonly headers?: Readonly<Record<string, string>>;
  /** Byte range wanted (inclusive), for partial reads. Validation of a partial body is skipped. */
  readonly range?: { readonly start: number; readonly end?: number };
  /**
   * Connections to split this download over (byte ranges of one file, each
   * counted against the per-host limit), as aria2's `-x/-s`. Only for a
   * `destination`, no `range`, an adapter that resumes and a size known up
   * front or from the first reply; a smaller file, or a server that ignores
   * ranges, uses one connection. @default the factory's `split`, else 1
   */
  readonly split?: number;
  /**
   * Download only if the remote changed since the copy at `destination` was
   * downloaded: the validators that remote sent then. HTTP asks with
   * `If-None-Match` (the ETag) and `If-Modified-Since` (Last-Modified); FTP
   * compares `SIZE` and `MDTM`, SFTP the stat's size and mtime, with `size`
   * and `lastModified` (both needed there). When the remote is unchanged no
   * body is read, the destination is left as it is, and the result says
   * `unchanged: true`. Needs a `destination` and no `range`. Giving it is the
   * permission to trust these validators instead of digests: leave it out
   * for files whose digests are known.
   */
  readonly ifChanged?: ChangeValidators;
  /** Cancels this download alone. */
  readonly signal?: AbortSignal;
  /** The caller's context, returned untouched. */
  readonly context?: C;
}

/** What a remote said about a file when it was downloaded (see {@link DownloadRequest.ifChanged}). */
export interface ChangeValidators {
  /** The entity tag as the server sent it (quotes, `W/` kept). */
  readonly etag?: string;
  /** Last modification time as an HTTP-date (HTTP `Last-Modified`, FTP `MDTM`, SFTP mtime). */
  readonly lastModified?: string;
  /** Size of the whole file in bytes. */
  readonly size?: number;
}
