import { DownloadError, ErrorCodes } from '@dl/core';
import type { Mirror } from './mirror-set.js';

/** Which set a request belongs to and the path relative to it. */
export interface MirrorRoute {
  readonly set: string;
  /** Relative to the set's bases, query included, no leading `/`. */
  readonly path: string;
  /** The inline mirror whose base the request URL starts with, if it did. */
  readonly matched?: Mirror;
}

/** Finds the set of a request: by the virtual scheme, or by an inline mirror's base. */
export class MirrorRouter {
  readonly #bases: { set: string; mirror: Mirror; prefix: string }[] = [];

  constructor(
    private readonly scheme: string,
    private readonly sets: readonly string[],
    inline: ReadonlyMap<string, readonly Mirror[]>,
  ) {
    for (const [set, mirrors] of inline) {
      for (const mirror of mirrors) {
        if (mirror.base !== undefined) this.#bases.push({ set, mirror, prefix: bare(mirror.base) });
      }
    }
    // The most specific base wins when bases nest.
    this.#bases.sort((a, b) => b.prefix.length - a.prefix.length);
  }

  route(url: URL): MirrorRoute | undefined {
    if (url.protocol === `${this.scheme}:`) {
      const set = safeDecode(url.hostname).toLowerCase();
      if (!this.sets.includes(set)) {
        throw new DownloadError(`No mirror set is named "${set}" (sets: ${this.sets.join(', ')})`, {
          code: ErrorCodes.InvalidRequest,
          url,
          details: { set, sets: this.sets },
        });
      }
      const path = url.pathname.replace(/^\/+/, '') + url.search;
      if (path === '' || path.startsWith('?')) {
        throw new DownloadError(`${this.scheme}://${set}/ needs a path after the set name`, {
          code: ErrorCodes.InvalidRequest,
          url,
        });
      }
      return { set, path };
    }
    if (this.#bases.length === 0) return undefined;
    const href = bare(url);
    const hit = this.#bases.find((b) => href.startsWith(b.prefix) && href.length > b.prefix.length);
    if (hit === undefined) return undefined;
    return { set: hit.set, path: href.slice(hit.prefix.length), matched: hit.mirror };
  }
}

/** The URL without userinfo or fragment, for comparing prefixes. */
function bare(url: URL): string {
  const copy = new URL(url.href);
  copy.username = '';
  copy.password = '';
  copy.hash = '';
  return copy.href;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
