import { open, type FileHandle } from 'node:fs/promises';

/** A validated copy the tee left on disk, opened for serving. */
export interface CachedCopy {
  readonly handle: FileHandle;
  readonly size: number;
  readonly lastModified: string;
}

/**
 * Opens the cache file of a target, when there is one of the expected size
 * (a file of another size is not trusted: the upstream is asked instead).
 * Only the tee writes there, and only files that validated, so the digests
 * are not computed again.
 */
export async function openCachedCopy(
  path: string,
  expectedSize: number | undefined,
): Promise<CachedCopy | undefined> {
  let handle: FileHandle;
  try {
    handle = await open(path, 'r');
  } catch {
    return undefined;
  }
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || (expectedSize !== undefined && stat.size !== expectedSize)) {
      await handle.close();
      return undefined;
    }
    return { handle, size: stat.size, lastModified: stat.mtime.toUTCString() };
  } catch {
    await handle.close().catch(() => {});
    return undefined;
  }
}

/** Headers of a response served from a cached copy, before the caller's filter. */
export function cachedHeaders(copy: CachedCopy): Record<string, string> {
  return {
    'content-type': 'application/octet-stream',
    'last-modified': copy.lastModified,
    'accept-ranges': 'bytes',
  };
}
