import {
  closeSync,
  openSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import type { ChangeValidators, RemoteMetadata } from '@dl/core';

/** The sidecar's name, in every folder `dl get --resync` downloaded into. */
export const VALIDATORS_FILE = '.dl-validators.jsonl';

/** One sidecar line: what the remote said of `name` and what the local copy was then. */
interface StoredLine {
  /** The file's name in the folder. */
  readonly name: string;
  readonly etag?: string;
  readonly lastModified?: string;
  /** Size of the file, remote and local alike. */
  readonly size: number;
  /** The local copy's mtime (ms, whole) right after it was written: a later local edit voids the line. */
  readonly mtime: number;
}

/** Folders whose sidecar is kept in memory at once: manifests list a folder's files together. */
const FOLDERS_KEPT = 4;
/** Sidecars kept open for appending at once. */
const FILES_OPEN = 16;

/**
 * The validators (ETag, Last-Modified, size) each file had when `dl get
 * --resync` downloaded it, kept in a sidecar file per folder,
 * `.dl-validators.jsonl`, one JSON line per download appended (the last line
 * of a name wins). A folder's sidecar is read whole the first time one of
 * its files is looked up, and only a few folders are kept in memory, so
 * memory follows the largest folder, not the whole tree.
 *
 * Robust by default: a line that does not parse, a sidecar that cannot be
 * read, or a file whose size or mtime is no longer the one recorded (edited
 * locally) gives no validators, and the file is simply downloaded.
 */
export class ValidatorStore {
  /** Folder → name → line, most recently used last. */
  readonly #folders = new Map<string, Map<string, StoredLine>>();
  /** Folder → its sidecar opened for appending, most recently used last. */
  readonly #open = new Map<string, number>();

  /** The validators of the copy at `destination`, when it is still the one that was downloaded. */
  lookup(destination: string): ChangeValidators | undefined {
    const stored = this.#folder(dirname(destination)).get(basename(destination));
    if (stored === undefined) return undefined;
    let stat;
    try {
      stat = statSync(destination, { throwIfNoEntry: false });
    } catch {
      return undefined;
    }
    if (stat?.isFile() !== true || stat.size !== stored.size) return undefined;
    if (Math.trunc(stat.mtimeMs) !== stored.mtime) return undefined;
    const validators: { etag?: string; lastModified?: string; size: number } = {
      size: stored.size,
    };
    if (stored.etag !== undefined) validators.etag = stored.etag;
    if (stored.lastModified !== undefined) validators.lastModified = stored.lastModified;
    return validators;
  }

  /** Notes what the remote said of the file just written to `destination`. Never throws. */
  record(destination: string, metadata: RemoteMetadata): void {
    if (metadata.etag === undefined && metadata.lastModified === undefined) return;
    const folder = dirname(destination);
    try {
      const stat = statSync(destination);
      const line: StoredLine = {
        name: basename(destination),
        ...(metadata.etag === undefined ? {} : { etag: metadata.etag }),
        ...(metadata.lastModified === undefined ? {} : { lastModified: metadata.lastModified }),
        size: stat.size,
        mtime: Math.trunc(stat.mtimeMs),
      };
      writeSync(this.#appender(folder), `${JSON.stringify(line)}\n`);
      this.#folders.get(folder)?.set(line.name, line);
    } catch {
      // A read-only folder, a full disk: the next run downloads this file again.
    }
  }

  /** Closes every sidecar held open. */
  close(): void {
    for (const fd of this.#open.values()) closeQuietly(fd);
    this.#open.clear();
    this.#folders.clear();
  }

  #folder(folder: string): Map<string, StoredLine> {
    let lines = this.#folders.get(folder);
    if (lines !== undefined) {
      this.#folders.delete(folder);
      this.#folders.set(folder, lines);
      return lines;
    }
    lines = new Map();
    let count = 0;
    let text = '';
    try {
      text = readFileSync(join(folder, VALIDATORS_FILE), 'utf8');
    } catch {
      // None yet, or unreadable: no validators.
    }
    for (const raw of text.split('\n')) {
      if (raw === '') continue;
      count++;
      const line = parseLine(raw);
      if (line !== undefined) lines.set(line.name, line);
    }
    // Appended to on every download: rewritten once most of it is stale (and it is not open here).
    if (count > 2 * lines.size + 64 && !this.#open.has(folder)) compact(folder, lines);
    if (this.#folders.size >= FOLDERS_KEPT) {
      this.#folders.delete(this.#folders.keys().next().value!);
    }
    this.#folders.set(folder, lines);
    return lines;
  }

  #appender(folder: string): number {
    let fd = this.#open.get(folder);
    if (fd !== undefined) return fd;
    if (this.#open.size >= FILES_OPEN) {
      const [oldest, oldFd] = this.#open.entries().next().value!;
      this.#open.delete(oldest);
      closeQuietly(oldFd);
    }
    fd = openSync(join(folder, VALIDATORS_FILE), 'a');
    this.#open.set(folder, fd);
    return fd;
  }
}

function parseLine(raw: string): StoredLine | undefined {
  let value: unknown;
  try {
    value = JSON.parse(raw);
  } catch {
    return undefined;
  }
  if (value === null || typeof value !== 'object') return undefined;
  const { name, etag, lastModified, size, mtime } = value as Record<string, unknown>;
  const valid =
    typeof name === 'string' &&
    name !== '' &&
    (etag === undefined || typeof etag === 'string') &&
    (lastModified === undefined || typeof lastModified === 'string') &&
    (etag !== undefined || lastModified !== undefined) &&
    Number.isSafeInteger(size) &&
    Number.isSafeInteger(mtime);
  return valid ? (value as StoredLine) : undefined;
}

/** Rewrites `folder`'s sidecar with only its live lines (temp file and rename). */
function compact(folder: string, lines: Map<string, StoredLine>): void {
  const path = join(folder, VALIDATORS_FILE);
  const temp = `${path}.${process.pid}.tmp`;
  try {
    let text = '';
    for (const line of lines.values()) text += `${JSON.stringify(line)}\n`;
    writeFileSync(temp, text);
    renameSync(temp, path);
  } catch {
    // Left as it is: still correct, only longer.
  }
}

function closeQuietly(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    // Already closed.
  }
}
