import { isAbsolute, relative, resolve, sep } from 'node:path';
import { DownloadError, ErrorCodes, type DownloadRequest } from '@dl/core';
import type { Metalink, MetalinkFile } from './metalink.js';
import { unsafeNameReason } from './safe-name.js';

/** Options of {@link metalinkRequests}. */
export interface MetalinkRequestsOptions<C> {
  /** The folder every file goes into, under its metalink name. */
  readonly directory: string;
  /**
   * Download through this mirror set (`mirror://<set>/<name>`), so every URL
   * of the file is a failover source. Without it, each request uses the
   * file's best URL.
   * @default none
   */
  readonly set?: string;
  /** The scheme of the set's URLs. @default 'mirror' */
  readonly scheme?: string;
  /** The context of each request. @default the file */
  readonly context?: (file: MetalinkFile) => C;
}

/**
 * One download request per file of a metalink, each with its size and every
 * hash as expectations and its destination inside `directory`. Names were
 * checked when the metalink was parsed; the destination is checked again
 * here, so a name can never place a file outside the folder.
 */
export function metalinkRequests<C = MetalinkFile>(
  metalink: Metalink,
  options: MetalinkRequestsOptions<C>,
): DownloadRequest<C>[] {
  const root = resolve(options.directory);
  return metalink.files.map((file) => {
    const unsafe = unsafeNameReason(file.name);
    const destination = resolve(root, ...file.name.split('/'));
    const inside = relative(root, destination);
    if (
      unsafe !== undefined ||
      inside === '' ||
      inside.startsWith(`..${sep}`) ||
      inside === '..' ||
      isAbsolute(inside)
    ) {
      throw new DownloadError(
        `The metalink file name ${JSON.stringify(file.name)} would leave ${root}${unsafe ? `: ${unsafe}` : ''}`,
        { code: ErrorCodes.InvalidRequest, details: { name: file.name } },
      );
    }
    const url =
      options.set !== undefined
        ? `${options.scheme ?? 'mirror'}://${options.set}/${file.name.split('/').map(encodeURIComponent).join('/')}`
        : file.urls[0]?.url.href;
    if (url === undefined) {
      throw new DownloadError(`The metalink lists no usable URL for ${JSON.stringify(file.name)}`, {
        code: ErrorCodes.InvalidRequest,
        details: { name: file.name },
      });
    }
    return {
      url,
      destination,
      ...(file.size === undefined ? {} : { size: file.size }),
      ...(Object.keys(file.digests).length === 0 ? {} : { digests: file.digests }),
      context: options.context ? options.context(file) : (file as unknown as C),
    };
  });
}
