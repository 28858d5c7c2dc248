import { DownloadError, ErrorCodes } from '@dl/core';
import type { MirrorSetOptions, RefusedEntries } from './mirrors-options.js';

/** A list's text handed over by the caller, and when. */
export interface GivenList {
  readonly text: string;
  readonly at: number;
}

/**
 * What the loaders of one interceptor share across the factories it is given
 * to: list texts the caller already fetched, and which sets' refused entries
 * were already reported (once per set).
 */
export class SharedLists {
  readonly #given = new Map<string, GivenList>();
  readonly #told = new Set<string>();

  constructor(
    private readonly sets: Readonly<Record<string, MirrorSetOptions>>,
    private readonly onRefused: ((refusal: RefusedEntries) => void) | undefined,
  ) {}

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

  /** Tells the caller about refused entries, the first time for each set. */
  refused(refusal: RefusedEntries): void {
    if (this.onRefused === undefined || this.#told.has(refusal.set)) return;
    this.#told.add(refusal.set);
    this.onRefused(refusal);
  }
}
