import type { Digests } from '@dl/core';
import { asBase } from './entry-url.js';
import type { Metalink } from './metalink.js';

/** One mirror of a set. */
export interface Mirror {
  /** Identity within the set: the base URL, or the file URL when no base is known. */
  readonly key: string;
  /** The base the set's relative paths resolve against, when known. */
  readonly base?: URL;
  /** Lower first. */
  readonly priority: number;
  /** Position in the set, for ties. */
  readonly order: number;
  readonly location?: string;
  readonly maxConnections?: number;
  /** Written by the caller (credentials kept) rather than read from a remote document. */
  readonly trusted: boolean;
}

/** Where one file can come from. */
export interface Source {
  readonly mirror: Mirror;
  readonly url: URL;
}

/** A file a metalink describes: its own URLs and expectations. */
export interface DescribedFile {
  readonly size?: number;
  readonly digests: Digests;
  readonly sources: readonly Source[];
}

/** A mirror set as loaded: bases, and files a metalink described. */
export class MirrorSet {
  constructor(
    readonly name: string,
    readonly mirrors: readonly Mirror[],
    readonly files: ReadonlyMap<string, DescribedFile>,
  ) {}

  /** The sources of `path` (relative to the set, query included) and what a metalink promised about it. */
  resolve(path: string): { sources: Source[]; expect?: { size?: number; digests?: Digests } } {
    const withoutQuery = path.split('?', 1)[0]!;
    const described = this.files.get(safeDecode(withoutQuery));
    const sources: Source[] = [];
    const seen = new Set<string>();
    const add = (source: Source) => {
      if (seen.has(source.mirror.key)) return;
      seen.add(source.mirror.key);
      sources.push(source);
    };
    for (const source of described?.sources ?? []) add(source);
    for (const mirror of this.mirrors) {
      const url = mirror.base === undefined ? undefined : under(mirror.base, path);
      if (url !== undefined) add({ mirror, url });
    }
    if (described === undefined) return { sources };
    const hasDigests = Object.keys(described.digests).length > 0;
    return {
      sources,
      ...(described.size === undefined && !hasDigests
        ? {}
        : {
            expect: {
              ...(described.size === undefined ? {} : { size: described.size }),
              ...(hasDigests ? { digests: described.digests } : {}),
            },
          }),
    };
  }
}

/** `path` under `base`, or undefined when it would climb out of it. */
export function under(base: URL, path: string): URL | undefined {
  let url: URL;
  try {
    url = new URL(base.href + path);
  } catch {
    return undefined;
  }
  return url.href.startsWith(base.href) ? url : undefined;
}

/** Builds the mirrors and described files a metalink contributes. */
export function metalinkMirrors(
  metalink: Metalink,
  metalinkPath: string | undefined,
  firstOrder: number,
  rankOffset: number,
): { mirrors: Mirror[]; files: Map<string, DescribedFile> } {
  const bases = new Map<string, Mirror>();
  const files = new Map<string, DescribedFile>();
  let order = firstOrder;
  metalink.files.forEach((file, index) => {
    const path = index === 0 && metalinkPath !== undefined ? metalinkPath : file.name;
    const sources: Source[] = file.urls.map((entry) => {
      const base = baseOf(entry.url, path);
      const key = base?.href ?? entry.url.href;
      let mirror = bases.get(key);
      if (mirror === undefined) {
        mirror = {
          key,
          ...(base === undefined ? {} : { base }),
          priority: rankOffset + (entry.priority ?? 1_000_000),
          order: order++,
          ...(entry.location === undefined ? {} : { location: entry.location }),
          ...(entry.maxConnections === undefined ? {} : { maxConnections: entry.maxConnections }),
          trusted: false,
        };
        bases.set(key, mirror);
      }
      return { mirror, url: entry.url };
    });
    files.set(path, {
      ...(file.size === undefined ? {} : { size: file.size }),
      digests: file.digests,
      sources,
    });
  });
  return { mirrors: [...bases.values()].filter((m) => m.base !== undefined), files };
}

/** The base a file URL lies under, when its path ends with `path`. */
function baseOf(url: URL, path: string): URL | undefined {
  const suffix = `/${path.replace(/^\/+/, '')}`;
  const pathname = safeDecode(url.pathname);
  if (!pathname.endsWith(suffix) || url.search !== '') return undefined;
  const base = new URL(url.href);
  base.pathname = url.pathname.slice(0, url.pathname.length - encodedLength(url.pathname, suffix));
  return asBase(base);
}

/** How many characters of the encoded `pathname` the decoded `suffix` spans. */
function encodedLength(pathname: string, suffix: string): number {
  for (let cut = pathname.length; cut >= 0; cut--) {
    if (safeDecode(pathname.slice(cut)) === suffix) return pathname.length - cut;
  }
  return suffix.length;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}
