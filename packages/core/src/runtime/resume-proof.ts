import type { DownloadRequest } from '../contracts/download-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';

/**
 * Whether a resume after bytes were handed out (open(), the streamer) can be
 * proven to continue the same bytes: the earlier attempt saw a validator the
 * adapter checks on resume (a strong ETag, sent as `If-Range`, or a
 * modification time), or the whole file has digests that are checked before
 * the body may end cleanly. Without either, a 206 of a file that changed
 * would splice two files together unnoticed.
 */
export function resumeProvable(
  request: DownloadRequest<unknown>,
  before: RemoteMetadata | undefined,
): boolean {
  if (before === undefined) return false;
  if (before.etag !== undefined && !before.etag.startsWith('W/')) return true;
  if (before.lastModified !== undefined) return true;
  return request.range === undefined && Object.keys(request.digests ?? {}).length > 0;
}

/**
 * Why the metadata of a resumed attempt shows another file than the one
 * whose first bytes were handed out, or `undefined` when nothing does. The
 * size must match whatever the source; the validators only when the same URL
 * answered (another mirror has its own ETag for the same bytes, and may
 * resume there only when digests guard the whole file).
 */
export function changedSince(before: RemoteMetadata, after: RemoteMetadata): string | undefined {
  if (before.size !== undefined && after.size !== undefined && before.size !== after.size) {
    return `its size changed from ${before.size} to ${after.size} bytes`;
  }
  if (before.url !== after.url) return undefined;
  if (before.etag !== undefined && after.etag !== undefined && before.etag !== after.etag) {
    return `its ETag changed from ${before.etag} to ${after.etag}`;
  }
  if (
    before.lastModified !== undefined &&
    after.lastModified !== undefined &&
    before.lastModified !== after.lastModified
  ) {
    return `its modification time changed from ${before.lastModified} to ${after.lastModified}`;
  }
  return undefined;
}
