import { createHash } from 'node:crypto';
import { generatedContent } from './generated-content.js';
import type { MemoryFault } from './memory-fault.js';

/** Optional facts about a file put into a {@link MemoryStore}. */
export interface MemoryFileOptions {
  /** Entity tag to report. @default a strong tag from the content's sha256 */
  readonly etag?: string;
  /** Last modification time as an HTTP-date. @default the time of `put` */
  readonly lastModified?: string;
  /** Media type to report. @default 'application/octet-stream' */
  readonly contentType?: string;
}

/**
 * The "server side" of the memory adapter: files per host, transfers counted
 * per host as the server would see them, and injected faults.
 *
 * Hosts are named by the URL's host (`mem://host-a/x` is host `host-a`);
 * every method that takes a host also accepts a URL or an origin string.
 * The store keeps nothing per request: transfers of a generated host leave
 * only per-host counters behind, so it serves heap-flatness tests.
 */
export interface MemoryStore {
  /** Makes `data` available at `url` (replacing what was there). */
  put(url: string | URL, data: Uint8Array, options?: MemoryFileOptions): void;
  /** Removes the file at `url`; true when there was one. */
  delete(url: string | URL): boolean;
  /** The bytes served at `url` (stored or generated), or undefined when there are none. */
  get(url: string | URL): Uint8Array | undefined;
  /**
   * Makes every path of `host` exist with `size` bytes derived from the path
   * (see {@link generatedContent}) without storing anything.
   */
  generate(host: string, size: number): void;
  /** Injects a fault for `url`, replacing that URL's previous fault. */
  fault(url: string | URL, fault: MemoryFault): void;
  /** Removes the fault of `url`, or every fault when no URL is given. */
  clearFaults(url?: string | URL): void;
  /**
   * How many times `url` was opened (failed opens included). Counted for
   * stored files and for URLs with a fault; 0 for other generated paths.
   */
  opens(url: string | URL): number;
  /** Opens of every URL of `host` (or of all hosts), failed opens included. */
  totalOpens(host?: string | URL): number;
  /** Transfers open now to `host` (or to all hosts): opened and not yet ended or aborted. */
  active(host?: string | URL): number;
  /** Most transfers open at once to `host` (or to all hosts) since the store was made or `resetPeak`. */
  peak(host?: string | URL): number;
  /** Sets the peak of `host` (or of every host and the total) back to what is open now. */
  resetPeak(host?: string | URL): void;
}

/** What an open of one URL is to do, decided by the store. @internal */
export interface MemoryServePlan {
  readonly host: string;
  readonly data: Uint8Array | undefined;
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
  readonly fault: MemoryFault | undefined;
  /** This open fails (a `failOpens` fault was used up by it). */
  readonly fail: boolean;
  /** First byte served (0 when the range is ignored). */
  readonly start: number;
  /** One past the last byte served. */
  readonly stop: number;
  /** Bytes after which this transfer breaks, when a cut was used up by it. */
  readonly cutAfter: number | undefined;
}

/** The store's side used by the memory adapter, not part of the public API. @internal */
export interface MemoryStoreInternals {
  /** Counts the open and decides what it does for the bytes `offset` to `end` (inclusive). */
  plan(url: URL, offset: number, end: number | undefined): MemoryServePlan;
  /** Counts a transfer as open; the returned function ends it (idempotent). */
  begin(host: string): () => void;
}

interface StoredFile {
  readonly data: Uint8Array;
  readonly etag: string;
  readonly lastModified: string;
  readonly contentType: string;
  opens: number;
}

interface FaultState {
  readonly fault: MemoryFault;
  failsLeft: number;
  cutsLeft: number;
  opens: number;
}

interface HostCounters {
  active: number;
  peak: number;
  opens: number;
}

const internals = new WeakMap<MemoryStore, MemoryStoreInternals>();

/** The internals of a store made by {@link createMemoryStore}. @internal */
export function memoryStoreInternals(store: MemoryStore): MemoryStoreInternals {
  const found = internals.get(store);
  if (found === undefined) throw new TypeError('Not a store made by createMemoryStore()');
  return found;
}

/** Creates an empty {@link MemoryStore}. */
export function createMemoryStore(): MemoryStore {
  const files = new Map<string, StoredFile>();
  const generated = new Map<string, number>();
  const faults = new Map<string, FaultState>();
  const hosts = new Map<string, HostCounters>();
  const total = { active: 0, peak: 0, opens: 0 };
  const startedAt = new Date().toUTCString();

  const counters = (host: string): HostCounters => {
    let found = hosts.get(host);
    if (found === undefined) {
      found = { active: 0, peak: 0, opens: 0 };
      hosts.set(host, found);
    }
    return found;
  };

  const store: MemoryStore = {
    put(url, data, options = {}) {
      files.set(keyOf(url), {
        data,
        etag:
          options.etag ?? `"${createHash('sha256').update(data).digest('base64url').slice(0, 22)}"`,
        lastModified: options.lastModified ?? new Date().toUTCString(),
        contentType: options.contentType ?? 'application/octet-stream',
        opens: 0,
      });
    },
    delete: (url) => files.delete(keyOf(url)),
    get(url) {
      const parsed = parse(url);
      const stored = files.get(keyOf(parsed));
      if (stored !== undefined) return stored.data;
      const size = generated.get(parsed.host.toLowerCase());
      return size === undefined ? undefined : generatedContent(parsed.pathname, size);
    },
    generate(host, size) {
      if (!Number.isSafeInteger(size) || size < 0)
        throw new RangeError(`Bad generated size ${size}`);
      generated.set(hostOf(host), size);
    },
    fault(url, fault) {
      faults.set(keyOf(url), {
        fault,
        failsLeft: fault.failOpens ?? 0,
        cutsLeft: fault.cutAfter === undefined ? 0 : (fault.cutTimes ?? 1),
        opens: 0,
      });
    },
    clearFaults(url) {
      if (url === undefined) faults.clear();
      else faults.delete(keyOf(url));
    },
    opens(url) {
      const key = keyOf(url);
      return faults.get(key)?.opens ?? files.get(key)?.opens ?? 0;
    },
    totalOpens: (host) =>
      host === undefined ? total.opens : (hosts.get(hostOf(host))?.opens ?? 0),
    active: (host) => (host === undefined ? total.active : (hosts.get(hostOf(host))?.active ?? 0)),
    peak: (host) => (host === undefined ? total.peak : (hosts.get(hostOf(host))?.peak ?? 0)),
    resetPeak(host) {
      if (host !== undefined) {
        const found = hosts.get(hostOf(host));
        if (found !== undefined) found.peak = found.active;
        return;
      }
      for (const found of hosts.values()) found.peak = found.active;
      total.peak = total.active;
    },
  };

  internals.set(store, {
    plan(url, offset, end) {
      const key = keyOf(url);
      const host = url.host.toLowerCase();
      const hostCounters = counters(host);
      hostCounters.opens++;
      total.opens++;
      const stored = files.get(key);
      if (stored !== undefined) stored.opens++;
      const faultState = faults.get(key);
      if (faultState !== undefined) faultState.opens++;

      let data = stored?.data;
      if (data === undefined) {
        const generatedSize = generated.get(host);
        if (generatedSize !== undefined) data = generatedContent(url.pathname, generatedSize);
      }
      const fault = faultState?.fault;
      const size = data?.length ?? 0;
      const start = fault?.ignoreRange ? 0 : offset;
      const stop = fault?.ignoreRange || end === undefined ? size : Math.min(size, end + 1);
      let fail = false;
      let cutAfter: number | undefined;
      if (faultState !== undefined && fault !== undefined) {
        if (faultState.failsLeft > 0 && data !== undefined && !fault.notFound) {
          faultState.failsLeft--;
          fail = true;
        } else if (
          faultState.cutsLeft > 0 &&
          data !== undefined &&
          fault.cutAfter !== undefined &&
          fault.cutAfter < stop - start
        ) {
          faultState.cutsLeft--;
          cutAfter = fault.cutAfter;
        }
      }
      return {
        host,
        data,
        etag: stored?.etag ?? `"generated-${data?.length ?? 0}"`,
        lastModified: stored?.lastModified ?? startedAt,
        contentType: stored?.contentType ?? 'application/octet-stream',
        fault,
        fail,
        start,
        stop,
        cutAfter,
      };
    },
    begin(host) {
      const hostCounters = counters(host);
      hostCounters.active++;
      total.active++;
      if (hostCounters.active > hostCounters.peak) hostCounters.peak = hostCounters.active;
      if (total.active > total.peak) total.peak = total.active;
      let ended = false;
      return () => {
        if (ended) return;
        ended = true;
        hostCounters.active--;
        total.active--;
      };
    },
  });
  return store;
}

function parse(url: string | URL): URL {
  return typeof url === 'string' ? new URL(url) : url;
}

function keyOf(url: string | URL): string {
  const parsed = parse(url);
  return `${parsed.host.toLowerCase()}${parsed.pathname}`;
}

/** A host name from a host, an origin or a URL. */
function hostOf(host: string | URL): string {
  if (typeof host !== 'string') return host.host.toLowerCase();
  return (host.includes('://') ? new URL(host).host : host).toLowerCase();
}
