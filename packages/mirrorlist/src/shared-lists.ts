import { DownloadError, ErrorCodes } from '@dl/core';
import type { MirrorSetOptions } from './mirrors-options.js';

/** A list's text handed over by the caller, and when. */
export interface GivenList {
  readonly text: string;
  readonly at: number;
}

/**
 * What the loaders of one interceptor share across the factories it is given
 * to: list texts the caller already fetched.
 */
export class SharedLists {
  readonly #given = new Map<string, GivenList>();

  constructor(private readonly sets: Readonly<Record<string, MirrorSetOptions>>) {}

  /** Keeps the text of `set`'s list, read instead of fetching it once per factory while fresh. */
  give(set: string, text: string): void {
    if (this.sets[set]?.list === undefined) {
      throw new DownloadError(`provideList: no mirror set "${set}" with a list`, {
        code: ErrorCodes.InvalidRequest,
        details: { set },
      });
    }
    if (typeof text !== 'string') {
      throw new DownloadError('provideList: the text must be a string', {
        code: ErrorCodes.InvalidRequest,
        details: { set },
      });
    }
    this.#given.set(set, { text, at: Date.now() });
  }

  given(set: string): GivenList | undefined {
    return this.#given.get(set);
  }
}
