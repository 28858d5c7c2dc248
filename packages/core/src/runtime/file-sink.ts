import {
  closeSync,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { mkdir, open, rename, stat, unlink, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { redactUrl } from '../util/redact.js';
import type { Sink } from './sink.js';
import { tempNameFor } from './temp-files.js';

const FLUSH_BYTES = 256 * 1024;
const KNOWN_DIRS_MAX = 1024;
/** A file whose bytes all arrived before the first flush is written in one synchronous go… */
const SMALL_FILE_BYTES = 64 * 1024;
/**
 * …as long as that stays quick: a file system slower than 1 ms a file on
 * average over a window (network, busy disk), or one write that blocked for
 * 50 ms, ends it for the factory. A window, because on a busy machine any
 * single write may be preempted for a few milliseconds.
 */
const SYNC_WINDOW = 64;
const SYNC_AVERAGE_MS = 1;
const SYNC_STALL_MS = 50;

/**
 * What the file sinks of one factory learn about the file system as they
 * write: whether small files may still be written synchronously, the
 * folders known to exist, and the temp names handed out. The factory owns
 * it, so one factory writing to a slow file system leaves every other
 * factory's writes as they were.
 */
export class FileSinkContext {
  #syncWrites = true;
  #windowCount = 0;
  #windowMs = 0;
  readonly #knownDirs = new Set<string>();
  readonly #random = randomBytes(3).toString('hex');
  #counter = 0;

  /** False for good once a synchronous write proved slow. */
  get syncWrites(): boolean {
    return this.#syncWrites;
  }

  /** Counts one synchronous write that took `ms`. */
  timedSync(ms: number): void {
    this.#windowMs += ms;
    if (ms > SYNC_STALL_MS) this.#syncWrites = false;
    if (++this.#windowCount < SYNC_WINDOW) return;
    if (this.#windowMs > SYNC_WINDOW * SYNC_AVERAGE_MS) this.#syncWrites = false;
    this.#windowCount = 0;
    this.#windowMs = 0;
  }

  knowsDir(dir: string): boolean {
    return this.#knownDirs.has(dir);
  }

  rememberDir(dir: string): void {
    if (this.#knownDirs.size >= KNOWN_DIRS_MAX) this.#knownDirs.clear();
    this.#knownDirs.add(dir);
  }

  forgetDir(dir: string): void {
    this.#knownDirs.delete(dir);
  }

  /** A fresh temp path in `dir` for a destination named `name`. */
  tempPath(dir: string, name: string): string {
    return join(dir, tempNameFor(name, this.#random + (this.#counter++).toString(36)));
  }
}

/** For sinks made outside a factory (the streamer's cache copy). */
let sharedContext: FileSinkContext | undefined;

/**
 * Writes into a temp file in the destination's folder and renames it into
 * place on commit, so the destination only ever holds a complete, validated
 * file (a pre-existing one is replaced only then). Small writes are gathered
 * and written with one `writev`, so a small file costs open, writev, close
 * and rename. One write runs in the background while the next chunks
 * arrive (double buffering), so the network read and hashing overlap the disk.
 */
export class FileSink implements Sink {
  #handle: FileHandle | undefined;
  #tempPath: string | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;
  #writing: Promise<void> | undefined;
  #failure: unknown;

  readonly #files: FileSinkContext;

  /**
   * @param destination - where the file goes
   * @param url - what is downloaded there, named (redacted) in a `write-failed` error
   * @param files - what the factory's sinks learnt about the file system
   */
  constructor(
    readonly destination: string,
    private readonly url?: string | URL,
    files?: FileSinkContext,
  ) {
    this.#files = files ?? (sharedContext ??= new FileSinkContext());
  }

  write(chunk: Uint8Array): Promise<void> | void {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes < FLUSH_BYTES) return;
    // A write is running: wait for it (backpressure); the next chunk starts the next one.
    if (this.#writing !== undefined) return this.#writing;
    this.#writing = this.#flush()
      .catch((error: unknown) => {
        this.#failure = error;
      })
      .finally(() => {
        this.#writing = undefined;
      });
  }

  async restart(): Promise<void> {
    await this.#discard();
  }

  async commit(): Promise<string> {
    if (this.#files.syncWrites && this.#handle === undefined && this.#writing === undefined) {
      if (this.#failure !== undefined) throw this.#failure;
      if (this.#pendingBytes <= SMALL_FILE_BYTES) {
        const path = this.#commitSmall();
        if (path !== undefined) return path;
      }
    }
    try {
      await this.#writing;
      if (this.#failure !== undefined) throw this.#failure;
      await this.#flush();
      if (this.#handle === undefined) await this.#open();
      const temp = this.#tempPath!;
      await this.#handle!.close();
      this.#handle = undefined;
      await rename(temp, this.destination);
      this.#tempPath = undefined;
      this.#done = true;
      return this.destination;
    } catch (error) {
      await this.#discard();
      throw writeFailed(error, this.destination, this.url);
    }
  }

  /**
   * open, writev, close and rename without the thread pool: on a local file
   * system that costs a fraction of four round trips through it (16 vs 62 µs
   * of CPU per file on tmpfs, measured), and blocks the loop for as long.
   */
  #commitSmall(): string | undefined {
    const started = performance.now();
    const dir = dirname(this.destination);
    let temp: string | undefined;
    let fd: number | undefined;
    try {
      if (!this.#files.knowsDir(dir)) {
        makeDirSync(dir);
        this.#files.rememberDir(dir);
      }
      temp = this.#files.tempPath(dir, basename(this.destination));
      fd = openSync(temp, 'wx');
      if (this.#pendingBytes > 0) {
        checkWhole(writevSync(fd, this.#pending), this.#pendingBytes);
      }
      closeSync(fd);
      fd = undefined;
      renameSync(temp, this.destination);
      temp = undefined;
      this.#pending = [];
      this.#pendingBytes = 0;
      this.#done = true;
      return this.destination;
    } catch (error) {
      if (fd !== undefined) closeQuietly(fd);
      if (temp !== undefined) unlinkQuietly(temp);
      const code = (error as NodeJS.ErrnoException).code;
      // A vanished folder or a taken name: the asynchronous path retries those.
      if (code === 'ENOENT' || code === 'EEXIST') {
        this.#files.forgetDir(dir);
        return undefined;
      }
      throw writeFailed(error, this.destination, this.url);
    } finally {
      this.#files.timedSync(performance.now() - started);
    }
  }

  async abort(): Promise<void> {
    if (this.#done) return;
    await this.#discard();
  }

  async #flush(): Promise<void> {
    if (this.#pendingBytes === 0) return;
    if (this.#handle === undefined) await this.#open();
    const chunks = this.#pending;
    const bytes = this.#pendingBytes;
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      checkWhole((await this.#handle!.writev(chunks)).bytesWritten, bytes);
    } catch (error) {
      throw writeFailed(error, this.destination, this.url);
    }
  }

  async #open(): Promise<void> {
    const dir = dirname(this.destination);
    if (!this.#files.knowsDir(dir)) await this.#makeDir(dir);
    for (let tries = 0; ; tries++) {
      this.#tempPath = this.#files.tempPath(dir, basename(this.destination));
      try {
        this.#handle = await open(this.#tempPath, 'wx');
        return;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        this.#tempPath = undefined;
        if (tries >= 2 || (code !== 'ENOENT' && code !== 'EEXIST')) {
          throw writeFailed(error, this.destination, this.url);
        }
        // ENOENT: the folder was removed since we created it. EEXIST: another
        // process picked the same name. Either way, try again.
        if (code === 'ENOENT') {
          this.#files.forgetDir(dir);
          await this.#makeDir(dir);
        }
      }
    }
  }

  async #makeDir(dir: string): Promise<void> {
    try {
      await makeDir(dir);
    } catch (error) {
      throw writeFailed(error, this.destination, this.url);
    }
    this.#files.rememberDir(dir);
  }

  async #discard(): Promise<void> {
    await this.#writing;
    this.#failure = undefined;
    this.#pending = [];
    this.#pendingBytes = 0;
    const handle = this.#handle;
    const temp = this.#tempPath;
    this.#handle = undefined;
    this.#tempPath = undefined;
    await handle?.close().catch(() => {});
    if (temp !== undefined) await unlink(temp).catch(() => {});
  }
}

/**
 * Folders made for one destination at most: deeper than that is a mistake,
 * and the bound keeps folder creation finite whatever the file system does.
 */
const MAX_NEW_FOLDERS = 64;

/**
 * Makes `dir` and its missing parents one level at a time, never with
 * `recursive: true`: Node's recursive mkdir loops forever (and blocks the
 * thread pool or the loop) where a parent exists but mkdir under it fails
 * with ENOENT, as in `/proc`. Finds the first existing ancestor with `stat`
 * (at most {@link MAX_NEW_FOLDERS} levels up), then makes each level below it.
 * Throws the system error.
 */
export async function makeDir(dir: string): Promise<void> {
  const missing: string[] = [];
  for (let path = dir; ; path = parentOf(path, missing)) {
    const info = await stat(path).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
      return undefined;
    });
    if (info !== undefined) {
      assertFolder(info.isDirectory(), path);
      break;
    }
  }
  for (const level of missing.reverse()) {
    await mkdir(level).catch((error: unknown) => {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    });
  }
}

/** {@link makeDir} without the thread pool, for the small-file fast path; throws the system error. */
function makeDirSync(dir: string): void {
  const missing: string[] = [];
  for (let path = dir; ; path = parentOf(path, missing)) {
    const info = statSync(path, { throwIfNoEntry: false });
    if (info !== undefined) {
      assertFolder(info.isDirectory(), path);
      break;
    }
  }
  for (const level of missing.reverse()) {
    try {
      mkdirSync(level);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
    }
  }
}

/** Notes `path` as missing and returns its parent, within the bound. */
function parentOf(path: string, missing: string[]): string {
  const parent = dirname(path);
  if (parent === path || missing.length >= MAX_NEW_FOLDERS) {
    throw Object.assign(
      new Error(`no existing folder within ${MAX_NEW_FOLDERS} levels above '${path}'`),
      {
        code: 'ENOENT',
        path,
      },
    );
  }
  missing.push(path);
  return parent;
}

function assertFolder(isFolder: boolean, path: string): void {
  if (isFolder) return;
  throw Object.assign(new Error(`ENOTDIR: not a directory, mkdir '${path}'`), {
    code: 'ENOTDIR',
    path,
  });
}

/**
 * writev on a regular file writes less than asked only when the disk or a
 * limit is full, and says so with no error: a file cut short must never be
 * renamed into place.
 */
export function checkWhole(written: number, expected: number): void {
  if (written === expected) return;
  throw Object.assign(new Error(`short write: ${written} of ${expected} bytes`), {
    code: 'short-write',
  });
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already failing; the first error is the one to report.
  }
}

function unlinkQuietly(path: string): void {
  try {
    unlinkSync(path);
  } catch {
    // Nothing to remove.
  }
}

export function writeFailed(
  error: unknown,
  destination: string,
  url?: string | URL,
): DownloadError {
  if (DownloadError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
  const from = url === undefined ? '' : ` downloading ${redactUrl(url)}`;
  return new DownloadError(`Cannot write ${destination} (${code})${from}`, {
    code: ErrorCodes.WriteFailed,
    cause: error,
    details: { destination },
    ...(url === undefined ? {} : { url }),
  });
}
