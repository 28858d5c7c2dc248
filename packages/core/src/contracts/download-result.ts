import type { Digests } from './digests.js';
import type { RemoteMetadata } from './remote-resource.js';
import type { DownloadError } from '../errors/download-error.js';
import type { DownloadRequest } from './download-request.js';

/** A download that completed and validated. */
export interface DownloadResult<C = unknown> {
  /** The request's context, untouched. */
  readonly context: C;
  /** The URL asked for, without credentials. */
  readonly requestedUrl: string;
  /** The URL that finally served the bytes (after redirects or mirrors), without credentials. */
  readonly url: string;
  /** Where the file is, when the request had a destination. */
  readonly path?: string;
  /** Bytes in the file (or streamed). */
  readonly size: number;
  /** Every digest computed in the one pass: the expected ones and those asked for. */
  readonly digests: Digests;
  /** The remote's metadata from the attempt that finished. */
  readonly metadata: RemoteMetadata;
  /** How many attempts it took (1 when the first one succeeded). */
  readonly attempts: number;
  /** Bytes carried over from earlier attempts by resuming instead of restarting. */
  readonly resumedBytes: number;
  /** Wall time from the first attempt to the rename into place. */
  readonly durationMs: number;
  /**
   * True when the request had `ifChanged` and the remote said the file did
   * not change (HTTP 304, or FTP/SFTP size and modification time equal): no
   * body was read, the destination was left untouched, `digests` is empty and
   * `size` is the one `ifChanged` gave (else the remote's, else 0).
   */
  readonly unchanged?: true;
}

/**
 * What `downloadAll` yields for each request, in completion order: either
 * the result, or the error with the request's context.
 */
export type DownloadOutcome<C = unknown> =
  | {
      readonly ok: true;
      readonly context: C;
      readonly request: DownloadRequest<C>;
      readonly result: DownloadResult<C>;
    }
  | {
      readonly ok: false;
      readonly context: C;
      readonly request: DownloadRequest<C>;
      readonly error: DownloadError;
    };
