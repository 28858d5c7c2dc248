import {
  DownloadError,
  ErrorCodes,
  abortError,
  redactUrl,
  toDownloadError,
  type Logger,
  type OpenFunction,
} from '@dl/core';
import { asBase, entryUrl, type RejectedEntry } from './entry-url.js';
import { parseMetalink } from './metalink.js';
import { parseMirrorList } from './mirror-list.js';
import { MirrorListError } from './mirrorlist-error.js';
import { metalinkMirrors, MirrorSet, type DescribedFile, type Mirror } from './mirror-set.js';
import type { MirrorEntry, MirrorSetOptions } from './mirrors-options.js';
import { readDocument } from './read-document.js';
import type { SharedLists } from './shared-lists.js';

/** What the loader needs from the interceptor's options. */
export interface LoaderSettings {
  readonly allowedSchemes: readonly string[];
  readonly listTtlMs: number;
  readonly maxDocumentBytes: number;
}

interface Cached {
  readonly set: MirrorSet;
  readonly expiresAt: number;
}

interface Pending {
  readonly promise: Promise<MirrorSet>;
  readonly controller: AbortController;
  waiters: number;
}

const fetchOver = new DownloadError('The list was read', { code: ErrorCodes.Aborted });

/** How long a stale set is kept after a failed refresh before the list is asked again. */
const STALE_RETRY_MS = 60_000;

/**
 * Loads the mirror sets of one interceptor instance (one factory): inline
 * mirrors at once, remote lists through `next` on first use, cached for
 * `listTtlMs`. Concurrent requests share one fetch; a failed refresh keeps
 * the previous list for a while rather than failing downloads.
 */
export class SetLoader {
  readonly #cache = new Map<string, Cached>();
  readonly #pending = new Map<string, Pending>();
  /** Inline mirrors by set, ready before any fetch (used to match request URLs). */
  readonly inline: ReadonlyMap<string, readonly Mirror[]>;
  /** Sets whose list given by the caller this loader already read. */
  readonly #usedGiven = new Set<string>();

  constructor(
    readonly sets: Readonly<Record<string, MirrorSetOptions>>,
    private readonly next: OpenFunction,
    private readonly settings: LoaderSettings,
    private readonly log: Logger,
    private readonly shared?: SharedLists,
  ) {
    const inline = new Map<string, Mirror[]>();
    for (const [name, options] of Object.entries(sets))
      inline.set(name, inlineMirrors(name, options));
    this.inline = inline;
  }

  /** The set as it stands now, fetching its list when it has none or it expired. */
  async load(name: string, signal: AbortSignal): Promise<MirrorSet> {
    const options = this.sets[name]!;
    const cached = this.#cache.get(name);
    const now = Date.now();
    if (options.list === undefined) {
      if (cached) return cached.set;
      const set = new MirrorSet(name, this.inline.get(name) ?? [], new Map());
      this.#cache.set(name, { set, expiresAt: Infinity });
      return set;
    }
    if (cached && cached.expiresAt > now) return cached.set;
    try {
      return await this.#shared(name, options, signal);
    } catch (error) {
      if (signal.aborted) throw error;
      // A list that cannot be fetched now: keep what we had, or the inline mirrors alone.
      const inline = this.inline.get(name) ?? [];
      const fallback =
        cached?.set ??
        (inline.length > 0 && !MirrorListError.isInstance(error)
          ? new MirrorSet(name, inline, new Map())
          : undefined);
      if (fallback === undefined) throw error;
      this.log.warn(
        `mirror set "${name}": the list could not be fetched; using ${cached ? 'the previous list' : 'the inline mirrors'}`,
        { set: name, code: (error as { code?: unknown }).code },
      );
      const retryAt = now + Math.min(STALE_RETRY_MS, this.settings.listTtlMs);
      this.#cache.set(name, { set: fallback, expiresAt: retryAt });
      return fallback;
    }
  }

  #shared(name: string, options: MirrorSetOptions, signal: AbortSignal): Promise<MirrorSet> {
    if (signal.aborted) return Promise.reject(abortError(signal.reason));
    let pending = this.#pending.get(name);
    if (pending === undefined) {
      const controller = new AbortController();
      const promise = this.#fetch(name, options, controller.signal).finally(() => {
        this.#pending.delete(name);
        // Ends the fetch's open for the adapter's guard, as the end of an attempt does.
        controller.abort(fetchOver);
      });
      promise.catch(() => {});
      pending = { promise, controller, waiters: 0 };
      this.#pending.set(name, pending);
    }
    const shared = pending;
    shared.waiters++;
    return new Promise<MirrorSet>((resolve, reject) => {
      const leave = () => {
        signal.removeEventListener('abort', onAbort);
        shared.waiters--;
      };
      const onAbort = () => {
        leave();
        // Nobody waits any more: stop the fetch so its connection is freed.
        if (shared.waiters === 0) shared.controller.abort(signal.reason);
        reject(abortError(signal.reason));
      };
      signal.addEventListener('abort', onAbort, { once: true });
      shared.promise.then(
        (set) => {
          leave();
          resolve(set);
        },
        (error: unknown) => {
          leave();
          reject(error);
        },
      );
    });
  }

  async #fetch(name: string, options: MirrorSetOptions, signal: AbortSignal): Promise<MirrorSet> {
    const listUrl = new URL(options.list!);
    const source = redactUrl(listUrl);
    // The caller fetched the list already (to enumerate a metalink's files): read that once.
    const given = this.shared?.given(name);
    const fresh =
      given !== undefined &&
      !this.#usedGiven.has(name) &&
      Date.now() - given.at < this.settings.listTtlMs;
    if (fresh) this.#usedGiven.add(name);
    const text = fresh ? given.text : await this.#read(name, listUrl, source, signal);
    const fetchedAt = fresh ? given.at : Date.now();
    return this.#build(name, options, listUrl, source, text, fetchedAt);
  }

  async #read(name: string, listUrl: URL, source: string, signal: AbortSignal): Promise<string> {
    const started = Date.now();
    let text: string;
    try {
      // One attempt of its own: the list's failures are the set's to handle, not a file's.
      const resource = await this.next({
        url: listUrl,
        offset: 0,
        headers: {},
        signal,
        attempt: 1,
        maxAttempts: 1,
        download: { url: listUrl.href },
      });
      let bytes = 0;
      try {
        text = await readDocument(resource.body, this.settings.maxDocumentBytes, source);
        bytes = Buffer.byteLength(text);
        resource.onSettled?.({ ok: true, bytes, durationMs: Date.now() - started });
      } catch (error) {
        resource.onSettled?.({
          ok: false,
          error: toDownloadError(error, listUrl),
          bytes,
          durationMs: Date.now() - started,
        });
        throw error;
      }
    } catch (error) {
      if (MirrorListError.isInstance(error) || signal.aborted) throw error;
      const cause = toDownloadError(error, listUrl);
      throw new DownloadError(
        `The list of mirror set "${name}" could not be fetched: ${cause.message}`,
        {
          code: cause.code,
          retryable: cause.retryable,
          url: listUrl,
          cause,
          details: { set: name, list: source },
          ...(cause.retryAfterMs === undefined ? {} : { retryAfterMs: cause.retryAfterMs }),
        },
      );
    }
    return text;
  }

  #build(
    name: string,
    options: MirrorSetOptions,
    listUrl: URL,
    source: string,
    text: string,
    fetchedAt: number,
  ): MirrorSet {
    const inline = this.inline.get(name) ?? [];
    const parseOptions = {
      source,
      documentUrl: listUrl,
      allowedSchemes: this.settings.allowedSchemes,
      maxDocumentBytes: this.settings.maxDocumentBytes,
    };
    const metalink =
      options.format === 'metalink' ||
      (options.format !== 'mirrorlist' && /^\uFEFF?\s*</.test(text));
    let remote: Mirror[];
    let files = new Map<string, DescribedFile>();
    let metalinkSkipped: readonly RejectedEntry[] | undefined;
    let listSkipped: readonly RejectedEntry[] = [];
    if (metalink) {
      const parsed = parseMetalink(text, parseOptions);
      const built = metalinkMirrors(parsed, options.metalinkPath, inline.length, inline.length);
      remote = built.mirrors;
      files = built.files;
      metalinkSkipped = parsed.skipped;
      if (remote.length === 0 && [...files.values()].every((f) => f.sources.length === 0)) {
        throw noMirrors(source, parsed.skipped[0]?.reason);
      }
    } else {
      const parsed = parseMirrorList(text, parseOptions);
      listSkipped = parsed.skipped;
      remote = parsed.bases.map((base, i) => ({
        key: base.href,
        base,
        priority: inline.length + i,
        order: inline.length + i,
        trusted: false,
      }));
    }
    const skipped = metalinkSkipped ?? listSkipped;
    if (skipped.length > 0) {
      this.log.warn(`mirror set "${name}": ${skipped.length} entries of ${source} were refused`, {
        set: name,
        skipped: skipped.slice(0, 10),
      });
      try {
        this.shared?.refused({
          set: name,
          list: source,
          refused: skipped.slice(0, 10),
          count: skipped.length,
        });
      } catch (error) {
        // The caller's callback failing is no reason to fail the downloads.
        this.log.warn(`mirror set "${name}": onRefused threw`, { set: name, error });
      }
    }
    const known = new Set(inline.map((m) => m.key));
    const set = new MirrorSet(name, [...inline, ...remote.filter((m) => !known.has(m.key))], files);
    this.#cache.set(name, { set, expiresAt: fetchedAt + this.settings.listTtlMs });
    return set;
  }
}

function noMirrors(source: string, reason: string | undefined): MirrorListError {
  return new MirrorListError(
    reason === undefined
      ? 'The metalink lists no usable URL'
      : `The metalink lists no usable URL; the first was refused: ${reason}`,
    { problem: 'no-mirrors', source },
  );
}

/** The caller's own mirrors: trusted, checked only for being URLs. */
export function inlineMirrors(name: string, options: MirrorSetOptions): Mirror[] {
  return (options.mirrors ?? []).map((entry: string | MirrorEntry, order) => {
    const spec = typeof entry === 'string' ? { url: entry } : entry;
    const url = entryUrl(spec.url, { allowedSchemes: new Set(), trusted: true });
    if (typeof url === 'string') {
      throw new DownloadError(`Invalid mirrors option sets.${name}.mirrors[${order}]: ${url}`, {
        code: ErrorCodes.InvalidRequest,
      });
    }
    const base = asBase(url);
    return {
      key: base.href,
      base,
      priority: spec.priority ?? order,
      order,
      ...(spec.location === undefined ? {} : { location: spec.location.toLowerCase() }),
      ...(spec.maxConnections === undefined ? {} : { maxConnections: spec.maxConnections }),
      trusted: true,
    };
  });
}
