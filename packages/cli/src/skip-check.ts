import { createHash } from 'node:crypto';
import { close, createReadStream, open, opendirSync, read, statSync } from 'node:fs';
import { sep } from 'node:path';
import { isStaleTemp, parseTempName, settleStaleTemp, TEMP_SUFFIX, type Digests } from '@dl/core';

/** What a destination is expected to hold. */
export interface Expected {
  readonly size?: number;
  readonly digests?: Digests;
}

/**
 * The size of the file at `path` when it already has the expected size and
 * every expected digest, so downloading it again would change nothing;
 * otherwise undefined. Without expected digests nothing can be proven and
 * the answer is undefined. Never throws: an unreadable file is not skipped.
 */
export async function alreadyValid(
  path: string,
  expected: Expected,
  signal?: AbortSignal,
): Promise<number | undefined> {
  if (!hasDigests(expected.digests)) return undefined;
  return fileMatches(path, expected, signal);
}

/** Folders remembered at most, and their characters; past that the memory starts over. */
const MAX_FOLDERS = 4096;
const MAX_CHARS = 1 << 20;
/** Longer folder names and deeper unknown nestings are not remembered: a stat per file. */
const MAX_FOLDER_LENGTH = 4096;
const MAX_DEPTH = 64;

/**
 * {@link alreadyValid} for the many destinations of one run under one
 * output folder, without a `stat` per destination when its folder held
 * nothing when first looked at (it did not exist, or was empty).
 *
 * Why that is sound: whatever appears in such a folder later was written
 * by this run (or by another process racing it), and this run never writes
 * the same destination twice (duplicates are refused before this check).
 * So a destination in it cannot hold a file that was there before the run,
 * and downloading it is the right answer. A folder that held something is
 * answered the long way: stat, size, digests. The check only ever saves
 * work; it never skips a file it did not read and verify.
 *
 * The same look at a destination's folder finds the temp files a killed
 * earlier run left there (`kill -9`, a crash): those of this machine whose
 * process is gone (see `isStaleTemp` of `@dl/core`). Each is removed when
 * the destination it was for is checked, that is just before this run
 * writes it; temps of live processes and of other machines are left alone.
 * A stale temp with a resume record (a download past the kept-partial
 * threshold, killed) is adopted instead of removed (`settleStaleTemp` of
 * `@dl/core`), so that the download resumes it.
 */
export class SkipCheck {
  readonly #root: string;
  /** Folder → it held nothing when first looked at. */
  #heldNothing = new Map<string, boolean>();
  #chars = 0;
  // The last folder answered: manifests list a folder's files together.
  #lastFolder = '';
  #lastHeldNothing = false;
  /** Destination path → stale temps found for it in its folder, removed when it is checked. */
  #stale = new Map<string, string[]>();

  /** `root`: the resolved output folder every destination is under. */
  constructor(root: string) {
    this.#root = root;
  }

  /**
   * Undefined when the file at `path` is known not to be valid already
   * (decided without waiting: no digests to prove it, or its folder held
   * nothing); otherwise the promise of {@link alreadyValid}'s answer.
   */
  check(
    path: string,
    expected: Expected,
    signal?: AbortSignal,
  ): Promise<number | undefined> | undefined {
    const cut = path.lastIndexOf(sep);
    if (cut > 0) {
      const last = this.#lastFolder;
      if (cut !== last.length || !path.startsWith(last)) {
        this.#lastFolder = path.slice(0, cut);
        this.#lastHeldNothing = this.#folderHeldNothing(this.#lastFolder);
      }
      if (this.#stale.size > 0) this.#removeStale(path);
      if (this.#lastHeldNothing) return undefined;
    }
    if (!hasDigests(expected.digests)) return undefined;
    return fileMatches(path, expected, signal);
  }

  #removeStale(path: string): void {
    const temps = this.#stale.get(path);
    if (temps === undefined) return;
    this.#stale.delete(path);
    const name = path.slice(path.lastIndexOf(sep) + 1);
    for (const temp of temps) {
      try {
        settleStaleTemp(temp, name);
      } catch {
        // Gone already, or not ours to remove after all: the run goes on.
      }
    }
  }

  #folderHeldNothing(folder: string): boolean {
    const known = this.#heldNothing.get(folder);
    if (known !== undefined) return known;
    const root = this.#root;
    const inside =
      folder.length > root.length &&
      folder.length <= MAX_FOLDER_LENGTH &&
      folder.charCodeAt(root.length) === SEP &&
      folder.startsWith(root);
    if (!inside && folder !== root) return false;
    // Up to the nearest folder already looked at (or the root), then down again: inside a
    // folder that held nothing, nothing was there either, so one look serves a whole tree.
    const pending: string[] = [];
    let above: boolean | undefined;
    for (let current = folder; ; current = current.slice(0, current.lastIndexOf(sep))) {
      above = this.#heldNothing.get(current);
      if (above !== undefined) break;
      pending.push(current);
      if (current === root) break;
      if (pending.length > MAX_DEPTH) return false;
    }
    let empty = above === true;
    for (let i = pending.length - 1; i >= 0; i--) {
      const at = pending[i]!;
      // The destination's own folder is read whole when it holds anything, for stale temps.
      if (!empty) empty = looksEmpty(at, i === 0 ? this.#stale : undefined);
      this.#remember(at, empty);
    }
    return empty;
  }

  #remember(folder: string, heldNothing: boolean): void {
    if (this.#heldNothing.size >= MAX_FOLDERS || this.#chars >= MAX_CHARS) {
      this.#heldNothing = new Map();
      this.#chars = 0;
    }
    this.#heldNothing.set(folder, heldNothing);
    this.#chars += folder.length;
  }
}

const SEP = sep.charCodeAt(0);

/** Stale temps remembered at most; past that they are left for a later run. */
const MAX_STALE = 65_536;

/**
 * True when `folder` does not exist (or is not a folder) or has no entries;
 * false when unsure. With `stale`, a folder that holds something is read to
 * its end, and the stale temps in it are noted under their destination's path.
 */
function looksEmpty(folder: string, stale?: Map<string, string[]>): boolean {
  let dir;
  try {
    dir = opendirSync(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return code === 'ENOENT' || code === 'ENOTDIR';
  }
  try {
    // One batch of entries at most, however big the folder is, unless looking for stale temps.
    let entry = dir.readSync();
    if (entry === null) return true;
    if (stale === undefined) return false;
    for (; entry !== null; entry = dir.readSync()) {
      const name = entry.name;
      if (!name.endsWith(TEMP_SUFFIX) || stale.size >= MAX_STALE || !isStaleTemp(name)) continue;
      const destination = folder + sep + parseTempName(name)!.name;
      const temps = stale.get(destination);
      if (temps === undefined) stale.set(destination, [folder + sep + name]);
      else temps.push(folder + sep + name);
    }
    return false;
  } catch {
    return false;
  } finally {
    dir.closeSync();
  }
}

function hasDigests(digests: Digests | undefined): boolean {
  if (digests === undefined) return false;
  for (const algorithm in digests) if (Object.hasOwn(digests, algorithm)) return true;
  return false;
}

/**
 * Undefined when `path` is not a file of the expected size (found without
 * waiting), otherwise the promise of its size when its content has every
 * expected digest.
 */
function fileMatches(
  path: string,
  expected: Expected,
  signal: AbortSignal | undefined,
): Promise<number | undefined> | undefined {
  let stat;
  try {
    // Synchronous and without an exception for a missing file: this can run once per manifest line.
    stat = statSync(path, { throwIfNoEntry: false });
  } catch {
    // ENOTDIR (a file where a folder should be), EACCES: not there as far as skipping goes.
    return undefined;
  }
  if (stat === undefined || !stat.isFile()) return undefined;
  if (expected.size !== undefined && stat.size !== expected.size) return undefined;
  const digests = Object.entries(expected.digests ?? {}) as [string, string][];
  return stat.size <= SMALL_FILE
    ? readSmall(path, stat.size, signal).then((content) =>
        content !== undefined &&
        digests.every(([algorithm, hex]) => digestOf(algorithm, content) === hex.toLowerCase())
          ? content.length
          : undefined,
      )
    : streamMatches(path, digests, signal);
}

/**
 * Files up to this size are read whole into a buffer of their size: a read
 * stream's 256 KiB buffer per file, thousands of times, is external memory
 * that makes V8 run a full garbage collection every few dozen files.
 */
const SMALL_FILE = 1024 * 1024;

function digestOf(algorithm: string, content: Buffer): string {
  return createHash(algorithm).update(content).digest('hex');
}

/** The content of `path` when it is still `size` bytes long; undefined when it changed or failed. */
function readSmall(
  path: string,
  size: number,
  signal: AbortSignal | undefined,
): Promise<Buffer | undefined> {
  return new Promise((resolve) => {
    open(path, 'r', (error, fd) => {
      if (error !== null) return resolve(undefined);
      // One byte more than expected, so a file that grew since the stat shows it.
      const buffer = Buffer.allocUnsafe(size + 1);
      let filled = 0;
      const finish = (content: Buffer | undefined) => close(fd, () => resolve(content));
      const next = () => {
        if (signal?.aborted) return finish(undefined);
        read(fd, buffer, filled, buffer.length - filled, filled, (error, bytes) => {
          if (error !== null) return finish(undefined);
          if (bytes === 0) return finish(filled === size ? buffer.subarray(0, size) : undefined);
          filled += bytes;
          if (filled > size) return finish(undefined);
          next();
        });
      };
      next();
    });
  });
}

async function streamMatches(
  path: string,
  digests: readonly (readonly [string, string])[],
  signal: AbortSignal | undefined,
): Promise<number | undefined> {
  const hashes = digests.map(([algorithm]) => createHash(algorithm));
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, signal })) {
      size += (chunk as Buffer).length;
      for (const hash of hashes) hash.update(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  const valid = digests.every(([, hex], i) => hashes[i]!.digest('hex') === hex.toLowerCase());
  return valid ? size : undefined;
}
