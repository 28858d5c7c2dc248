import type { ChangeValidators } from '../contracts/download-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';

/**
 * For adapters without conditional requests (FTP, SFTP): true when the
 * remote file's size and modification time both equal those the caller
 * stored in `ifChanged`. Anything unknown on either side means changed.
 */
export function unchangedSince(
  ifChanged: ChangeValidators | undefined,
  size: number | undefined,
  lastModified: string | undefined,
): boolean {
  return (
    ifChanged?.size !== undefined &&
    ifChanged.lastModified !== undefined &&
    size === ifChanged.size &&
    lastModified === ifChanged.lastModified
  );
}

/** The metadata of a remote found unchanged: no body, `notModified` set. */
export function notModifiedMetadata(
  url: string,
  size: number,
  lastModified: string,
): RemoteMetadata {
  return { url, size, offset: 0, length: 0, lastModified, headers: {}, notModified: true };
}

/** An empty body. */
export async function* noBody(): AsyncGenerator<Uint8Array> {}
