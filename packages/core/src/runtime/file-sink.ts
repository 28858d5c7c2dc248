import {
  closeSync,
  createReadStream,
  mkdirSync,
  openSync,
  renameSync,
  statSync,
  unlinkSync,
  writevSync,
} from 'node:fs';
import { mkdir, open, rename, stat, unlink, writeFile, type FileHandle } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import { basename, dirname, join } from 'node:path';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import { redactUrl } from '../util/redact.js';
import type { DownloadRequest } from '../contracts/download-request.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { ValidationError } from '../errors/validation-error.js';
import {
  DEFAULT_KEEP_PARTIAL_BYTES,
  RECORD_EVERY_BYTES,
  RECORD_SUFFIX,
  keptPaths,
  readRecord,
  recordFor,
  recordMismatch,
  resumeFromRecord,
  unlinkQuietly as removeQuietly,
} from './resume-store.js';
import type { KeptPrefix, Sink } from './sink.js';
import { tempNameFor } from './temp-files.js';

const FLUSH_BYTES = 256 * 1024;
const KNOWN_DIRS_MAX = 1024;
/** A file whose bytes all arrived before the first flush is written in one synchronous go… */
const SMALL_FILE_BYTES = 64 * 1024;
/**
 * …as long as that stays quick. One write preempted for 50 ms says little on
 * a busy machine, so it takes a pattern to switch a factory to the thread
 * pool: {@link SYNC_STALLS} writes over 50 ms, or over half of the writes
 * slower than 1 ms, within a window of {@link SYNC_WINDOW} writes (a network
 * or busy disk), or one write over 500 ms (no preemption lasts that long).
 * After a quiet spell the synchronous path is tried again; each switch back
 * to the thread pool before a whole quick window doubles the spell, so a file
 * system that stays slow blocks the loop for a few writes every few minutes
 * at most.
 */
const SYNC_WINDOW = 64;
const SYNC_SLOW_MS = 1;
const SYNC_STALL_MS = 50;
const SYNC_STALLS = 3;
const SYNC_HANG_MS = 500;
const SYNC_RETRY_MS = 10_000;
const SYNC_RETRY_MAX_MS = 320_000;

/**
 * What the file sinks of one factory learn about the file system as they
 * write: whether small files may still be written synchronously, the
 * folders known to exist, and the temp names handed out. The factory owns
 * it, so one factory writing to a slow file system leaves every other
 * factory's writes as they were.
 */
export class FileSinkContext {
  #syncWrites = true;
  /** While `#syncWrites` is false: when the synchronous path is tried again (`performance.now()`). */
  #syncRetryAt = 0;
  #retryMs = SYNC_RETRY_MS;
  #windowCount = 0;
  #slowCount = 0;
  #stallCount = 0;
  readonly #knownDirs = new Set<string>();
  readonly #random = randomBytes(3).toString('hex');
  #counter = 0;

  /**
   * @param keepPartialBytes - an interrupted download with at least this many
   * bytes on disk is kept for the next run to resume (0: never)
   */
  constructor(readonly keepPartialBytes = DEFAULT_KEEP_PARTIAL_BYTES) {}

  /** False while synchronous writes proved slow, until the quiet spell is over. */
  get syncWrites(): boolean {
    if (this.#syncWrites) return true;
    if (performance.now() < this.#syncRetryAt) return false;
    this.#syncWrites = true;
    return true;
  }

  /** Counts one synchronous write that took `ms`, ending at `now`. */
  timedSync(ms: number, now = performance.now()): void {
    if (ms > SYNC_SLOW_MS) {
      this.#slowCount++;
      if (ms > SYNC_STALL_MS) this.#stallCount++;
    }
    if (ms > SYNC_HANG_MS || this.#stallCount >= SYNC_STALLS || this.#slowCount > SYNC_WINDOW / 2) {
      this.#syncWrites = false;
      this.#syncRetryAt = now + this.#retryMs;
      this.#retryMs = Math.min(this.#retryMs * 2, SYNC_RETRY_MAX_MS);
      this.#resetWindow();
      return;
    }
    if (++this.#windowCount < SYNC_WINDOW) return;
    this.#retryMs = SYNC_RETRY_MS;
    this.#resetWindow();
  }

  #resetWindow(): void {
    this.#windowCount = 0;
    this.#slowCount = 0;
    this.#stallCount = 0;
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
  /** Bytes of the temp file on disk (written, or kept by an earlier run). */
  #written = 0;
  /** The last attempt's metadata: the validators a kept partial is recorded with. */
  #metadata: RemoteMetadata | undefined;
  /** `#written` when the temp's record was last written; undefined while it has none. */
  #recordedAt: number | undefined;

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
    private readonly request?: DownloadRequest<unknown>,
  ) {
    this.#files = files ?? (sharedContext ??= new FileSinkContext());
  }

  opened(metadata: RemoteMetadata): void {
    this.#metadata = metadata;
  }

  /**
   * Takes over the partial an earlier run kept for this destination (see
   * `resume-store.ts`) when its record fits the request: it becomes this
   * sink's temp file (appended to), its record the temp's. One `stat` when
   * there is none. A record that does not fit is removed with its bytes.
   */
  async resume(canResume: boolean): Promise<KeptPrefix | undefined> {
    const request = this.request;
    if (request === undefined || this.#files.keepPartialBytes === 0) return undefined;
    const kept = keptPaths(this.destination);
    if (sizeOf(kept.record) === undefined) return undefined;
    const record = readRecord(kept.record);
    const size = sizeOf(kept.data);
    if (
      !canResume ||
      record === undefined ||
      size === undefined ||
      size === 0 ||
      recordMismatch(record, request) !== undefined ||
      (request.size !== undefined && size >= request.size)
    ) {
      removeQuietly(kept.record);
      removeQuietly(kept.data);
      return undefined;
    }
    const dir = dirname(this.destination);
    const temp = this.#files.tempPath(dir, basename(this.destination));
    try {
      // The record first, as everywhere: data without a record is never left behind.
      await rename(kept.record, temp + RECORD_SUFFIX);
      await rename(kept.data, temp);
      this.#handle = await open(temp, 'a');
    } catch {
      removeQuietly(temp + RECORD_SUFFIX);
      removeQuietly(temp);
      return undefined;
    }
    this.#tempPath = temp;
    this.#written = size;
    this.#recordedAt = size;
    const resumeFrom = resumeFromRecord(record);
    this.#metadata = resumeFrom;
    return {
      offset: size,
      resumeFrom,
      prefix: createReadStream(temp, { start: 0, end: size - 1, highWaterMark: 1024 * 1024 }),
    };
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
      if (this.#recordedAt !== undefined) await unlink(temp + RECORD_SUFFIX).catch(() => {});
      this.#recordedAt = undefined;
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
      const ended = performance.now();
      this.#files.timedSync(ended - started, ended);
    }
  }

  /**
   * Removes every trace, except that a partial worth resuming is kept for
   * the next run: at least `keepPartialBytes` on disk (pending bytes are
   * flushed first), a validator or digests to prove a resume by, and a
   * failure that is not a validation failure. It is renamed to
   * `.NAME.dl-resume` with its record (`resume-store.ts`).
   */
  async abort(reason?: unknown): Promise<void> {
    if (this.#done) return;
    if (await this.#keep(reason)) return;
    await this.#discard();
  }

  async #keep(reason: unknown): Promise<boolean> {
    const request = this.request;
    const threshold = this.#files.keepPartialBytes;
    if (request === undefined || threshold === 0 || ValidationError.isInstance(reason))
      return false;
    await this.#writing;
    if (this.#written + this.#pendingBytes < threshold) return false;
    if (this.#failure !== undefined || this.#handle === undefined) return false;
    try {
      await this.#flush();
    } catch {
      return false;
    }
    const record = recordFor(request, this.#metadata, this.#written);
    if (record === undefined || this.#written < threshold) return false;
    const handle = this.#handle;
    const temp = this.#tempPath!;
    const kept = keptPaths(this.destination);
    try {
      await handle.close();
      this.#handle = undefined;
      await writeFile(kept.record, JSON.stringify(record));
      await rename(temp, kept.data);
    } catch {
      removeQuietly(kept.record);
      return false;
    }
    this.#tempPath = undefined;
    if (this.#recordedAt !== undefined) removeQuietly(temp + RECORD_SUFFIX);
    this.#recordedAt = undefined;
    this.#done = true;
    return true;
  }

  /**
   * Brings the temp's record (`TEMP.json`) up to date once the temp passed
   * the threshold, then every {@link RECORD_EVERY_BYTES}: after a `kill -9`
   * it is what lets the next run's stale-temp cleanup adopt the temp.
   */
  async #record(): Promise<void> {
    const request = this.request;
    const threshold = this.#files.keepPartialBytes;
    if (request === undefined || threshold === 0 || this.#written < threshold) return;
    if (this.#recordedAt !== undefined && this.#written - this.#recordedAt < RECORD_EVERY_BYTES)
      return;
    const record = recordFor(request, this.#metadata, this.#written);
    if (record === undefined) return;
    this.#recordedAt = this.#written;
    await writeFile(this.#tempPath + RECORD_SUFFIX, JSON.stringify(record));
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
      this.#written += bytes;
      await this.#record();
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
    const recorded = this.#recordedAt !== undefined;
    this.#handle = undefined;
    this.#tempPath = undefined;
    this.#written = 0;
    this.#recordedAt = undefined;
    await handle?.close().catch(() => {});
    if (temp !== undefined) await unlink(temp).catch(() => {});
    if (temp !== undefined && recorded) await unlink(temp + RECORD_SUFFIX).catch(() => {});
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

/** The size of the file at `path`; undefined when there is none (or it cannot be seen: ENOTDIR, EACCES). */
function sizeOf(path: string): number | undefined {
  try {
    return statSync(path, { throwIfNoEntry: false })?.size;
  } catch {
    return undefined;
  }
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
