import { accessSync, constants } from 'node:fs';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import type { OpenInterceptor } from '@dl/core';
import type { MirrorSetOptions, RefusedEntries } from '@dl/mirrorlist';
import { UsageError } from '../exit-codes.js';
import type { TransferOptions } from './transfer-options.js';

/** The mirror set `--mirrorlist` defines: `mirror://mirrors/PATH`, and relative URLs. */
export const MIRRORLIST_SET = 'mirrors';
/** The mirror set `--metalink` defines. */
export const METALINK_SET = 'metalink';

/** What `--mirrorlist` and `--metalink` add to a run. */
export interface MirrorSetup {
  readonly interceptors: OpenInterceptor[];
  /** Relative URLs resolve against it (`mirror://mirrors/`), when there is a mirror list. */
  readonly base?: URL;
  /** Where the metalink whose files are to be downloaded is. */
  readonly metalink?: URL;
  /** Hands the metalink's text, once read, to the mirror sets, so it is not fetched again. */
  readonly provideMetalink?: (text: string) => void;
}

/**
 * The mirror failover interceptor for `--mirrorlist` and `--metalink`. The
 * documents themselves are fetched through the factory (a local file as a
 * `file:` URL); the mirrors they list are untrusted: only network schemes,
 * no credentials. `@dl/mirrorlist` is loaded only when one of them is given.
 * `onRefused` is told once per document whose entries were refused (such as `file:` ones).
 */
export async function mirrorSetup(
  options: TransferOptions & { readonly metalink?: string },
  cwd: string,
  onRefused?: (refusal: RefusedEntries) => void,
): Promise<MirrorSetup> {
  const sets: Record<string, MirrorSetOptions> = {};
  let base: URL | undefined;
  let metalink: URL | undefined;
  if (options.mirrorlist !== undefined) {
    sets[MIRRORLIST_SET] = { list: documentUrl(options.mirrorlist, '--mirrorlist', cwd).href };
    base = new URL(`mirror://${MIRRORLIST_SET}/`);
  }
  if (options.metalink !== undefined) {
    metalink = documentUrl(options.metalink, '--metalink', cwd);
    sets[METALINK_SET] = { list: metalink.href, format: 'metalink' };
  }
  if (Object.keys(sets).length === 0) return { interceptors: [] };
  const { mirrors } = await import('@dl/mirrorlist');
  const interceptor = mirrors({
    sets,
    strategy: options.mirrorStrategy,
    ...(onRefused === undefined ? {} : { onRefused }),
  });
  return {
    interceptors: [interceptor],
    ...(base === undefined ? {} : { base }),
    ...(metalink === undefined
      ? {}
      : { metalink, provideMetalink: (text) => interceptor.provideList(METALINK_SET, text) }),
  };
}

/** An absolute URL as given, or a local file (checked readable) as a `file:` URL. */
function documentUrl(value: string, flag: string, cwd: string): URL {
  // A Windows drive letter parses as a one-letter scheme; anything longer is a URL.
  if (/^[a-z][a-z0-9+.-]+:/i.test(value) && URL.canParse(value)) return new URL(value);
  const path = resolve(cwd, value);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new UsageError(`${flag} ${value}: not a URL, and no readable file of that name`);
  }
  return pathToFileURL(path);
}
