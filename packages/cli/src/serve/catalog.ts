import { readSync } from 'node:fs';
import { open, type FileHandle } from 'node:fs/promises';
import { redactUrl, type Digests } from '@dl/core';
import { splitLines, MAX_LINE_BYTES } from '../manifest/line-splitter.js';
import { parseManifestLine } from '../manifest/manifest-entry.js';

/** What the catalog says about one path. */
export interface CatalogEntry {
  /** The path clients ask for, normalized (no leading `/`, no `.` segments). */
  readonly path: string;
  readonly url: URL;
  readonly size?: number;
  readonly digests?: Digests;
  /** The catalog line it came from. */
  readonly line: number;
}

/** Options of {@link Catalog.load}. */
export interface CatalogLoadOptions {
  /** Which URLs can be served (the factory's `supports`). */
  readonly supports: (url: URL) => boolean;
  /** Told about each line that cannot be used; the line is left out. */
  readonly onBadLine: (line: number, reason: string, url?: string) => void;
}

/**
 * The streamer's catalog (JSON Lines of `{"path", "url", "size"?,
 * "digests"?}`), indexed without being held in memory: the load pass keeps
 * a 52-bit hash and the byte offset of each line in typed arrays (16 bytes a
 * path), and a lookup reads and parses the one line (or the few lines
 * sharing a hash) from the file again. The file handle stays open, so the
 * catalog served is the one loaded even if the file is replaced.
 */
export class Catalog {
  readonly #handle: FileHandle;
  readonly #hashes: Float64Array;
  readonly #offsets: Float64Array;
  readonly #supports: (url: URL) => boolean;
  /** Holds the line being read; a lookup reads synchronously, so one buffer serves them all. */
  readonly #scratch = Buffer.allocUnsafe(4096);

  private constructor(
    handle: FileHandle,
    hashes: Float64Array,
    offsets: Float64Array,
    supports: (url: URL) => boolean,
  ) {
    this.#handle = handle;
    this.#hashes = hashes;
    this.#offsets = offsets;
    this.#supports = supports;
  }

  /** Reads and indexes the catalog at `file`; bad lines are reported and left out. */
  static async load(file: string, options: CatalogLoadOptions): Promise<Catalog> {
    const handle = await open(file, 'r');
    try {
      let hashes: Float64Array = new Float64Array(1024);
      let offsets: Float64Array = new Float64Array(1024);
      let count = 0;
      const input = handle.createReadStream({
        start: 0,
        autoClose: false,
        highWaterMark: 256 * 1024,
      });
      for await (const line of splitLines(input)) {
        if (line.tooLong) {
          options.onBadLine(line.number, `longer than ${MAX_LINE_BYTES} bytes`);
          continue;
        }
        const parsed = parseCatalogLine(line.text, line.number, options.supports);
        if (parsed === undefined) continue;
        if ('reason' in parsed) {
          options.onBadLine(line.number, parsed.reason, parsed.url);
          continue;
        }
        if (count === hashes.length) {
          hashes = grow(hashes);
          offsets = grow(offsets);
        }
        hashes[count] = hashPath(parsed.path);
        offsets[count] = line.offset;
        count++;
      }
      // Sorted by hash, then by line: the first line of a duplicated path wins.
      const order = new Uint32Array(count).map((_, i) => i);
      order.sort((a, b) => hashes[a]! - hashes[b]! || offsets[a]! - offsets[b]!);
      const sortedHashes = new Float64Array(count);
      const sortedOffsets = new Float64Array(count);
      order.forEach((from, to) => {
        sortedHashes[to] = hashes[from]!;
        sortedOffsets[to] = offsets[from]!;
      });
      return new Catalog(handle, sortedHashes, sortedOffsets, options.supports);
    } catch (error) {
      await handle.close();
      throw error;
    }
  }

  /** Paths indexed (duplicates included). */
  get size(): number {
    return this.#hashes.length;
  }

  /** The entry for a client's request path (already decoded), or undefined. */
  async lookup(requestPath: string): Promise<CatalogEntry | undefined> {
    const path = normalizePath(requestPath);
    if (path === undefined) return undefined;
    const hash = hashPath(path);
    let low = 0;
    let high = this.#hashes.length;
    while (low < high) {
      const mid = (low + high) >>> 1;
      if (this.#hashes[mid]! < hash) low = mid + 1;
      else high = mid;
    }
    for (let i = low; i < this.#hashes.length && this.#hashes[i] === hash; i++) {
      const text = this.#readLine(this.#offsets[i]!);
      const entry = parseCatalogLine(text, 0, this.#supports);
      if (entry !== undefined && !('reason' in entry) && entry.path === path) {
        return entry;
      }
    }
    return undefined;
  }

  /** Closes the catalog file. */
  close(): Promise<void> {
    return this.#handle.close();
  }

  /**
   * The line at `offset`, read synchronously: a lookup is one small pread of
   * a file read whole at load (so in the page cache), and the same read
   * through the threadpool cost 23–25 µs of CPU against 3–4 µs (a handoff to
   * a worker thread and back per request). The first read of
   * 4 KiB covers nearly every line; longer ones are read on in doubling
   * steps up to the longest line the load pass accepted.
   */
  #readLine(offset: number): string {
    let buffer = this.#scratch;
    let filled = 0;
    for (;;) {
      const bytesRead = readSync(
        this.#handle.fd,
        buffer,
        filled,
        buffer.length - filled,
        offset + filled,
      );
      const newline = buffer.indexOf(0x0a, filled);
      filled += bytesRead;
      if (newline !== -1 && newline < filled) return buffer.toString('utf8', 0, newline);
      if (bytesRead === 0 || filled > MAX_LINE_BYTES) return buffer.toString('utf8', 0, filled);
      if (filled === buffer.length) {
        const bigger = Buffer.allocUnsafe(Math.min(buffer.length * 2, MAX_LINE_BYTES + 1));
        buffer.copy(bigger, 0, 0, filled);
        buffer = bigger;
      }
    }
  }
}

/** A catalog line as an entry, undefined for a blank line, or why it cannot be used. */
function parseCatalogLine(
  text: string,
  line: number,
  supports: (url: URL) => boolean,
): CatalogEntry | { reason: string; url?: string } | undefined {
  const parsed = parseManifestLine(text, supports);
  if (parsed.kind === 'blank') return undefined;
  if (parsed.kind === 'bad')
    return { reason: parsed.reason, ...(parsed.url === undefined ? {} : { url: parsed.url }) };
  const { entry } = parsed;
  if (entry.path === undefined)
    return { reason: 'a catalog line needs a "path"', url: redactUrl(entry.url) };
  const path = normalizePath(entry.path);
  if (path === undefined) {
    return {
      reason: `path "${entry.path}" is not a file path (empty, "..", or a NUL byte)`,
      url: redactUrl(entry.url),
    };
  }
  return {
    path,
    url: entry.url,
    line,
    ...(entry.size === undefined ? {} : { size: entry.size }),
    ...(entry.digests === undefined ? {} : { digests: entry.digests }),
  };
}

/** One optional leading `/`, then segments that are not empty and do not start with a dot. */
const NORMAL_PATH = /^\/?[^/.\0][^/\0]*(?:\/[^/.\0][^/\0]*)*$/;

/** `/a//./b` → `a/b`; undefined for paths with `..`, NUL, or no file name. */
export function normalizePath(path: string): string | undefined {
  // Runs twice per request: a path already in normal form skips the split and join.
  if (NORMAL_PATH.test(path)) return path.charCodeAt(0) === 0x2f ? path.slice(1) : path;
  if (path.includes('\0')) return undefined;
  const segments = path.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.length === 0 || segments.includes('..')) return undefined;
  return segments.join('/');
}

/** Two FNV-1a hashes folded into 52 bits, exact in a double. */
function hashPath(path: string): number {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ path.length;
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x01000193) ^ (b >>> 15);
  }
  return (a >>> 0) * 0x100000 + ((b >>> 0) & 0xfffff);
}

function grow(array: Float64Array): Float64Array {
  const bigger = new Float64Array(array.length * 2);
  bigger.set(array);
  return bigger;
}
