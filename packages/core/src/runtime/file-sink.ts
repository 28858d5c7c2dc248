import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Sink } from './sink.js';

/** Temp files end with this; they live next to their destination until renamed. */
export const TEMP_SUFFIX = '.dl-part';

const FLUSH_BYTES = 256 * 1024;
const knownDirs = new Set<string>();
const KNOWN_DIRS_MAX = 1024;

/**
 * Writes into a temp file in the destination's folder and renames it into
 * place on commit, so the destination only ever holds a complete, validated
 * file (a pre-existing one is replaced only then). Small writes are gathered
 * and written with one `writev`, so a small file costs open, writev, close
 * and rename.
 */
export class FileSink implements Sink {
  #handle: FileHandle | undefined;
  #tempPath: string | undefined;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #done = false;

  constructor(readonly destination: string) {}

  write(chunk: Uint8Array): Promise<void> | void {
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    if (this.#pendingBytes >= FLUSH_BYTES) return this.#flush();
  }

  async restart(): Promise<void> {
    await this.#discard();
  }

  async commit(): Promise<string> {
    try {
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
      throw writeFailed(error, this.destination);
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
    this.#pending = [];
    this.#pendingBytes = 0;
    try {
      await this.#handle!.writev(chunks);
    } catch (error) {
      throw writeFailed(error, this.destination);
    }
  }

  async #open(): Promise<void> {
    const dir = dirname(this.destination);
    this.#tempPath = join(
      dir,
      `.${basename(this.destination)}.${randomBytes(6).toString('hex')}${TEMP_SUFFIX}`,
    );
    if (!knownDirs.has(dir)) await makeDir(dir, this.destination);
    try {
      this.#handle = await open(this.#tempPath, 'wx');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT')
        throw writeFailed(error, this.destination);
      // The folder was removed since we created it: forget and retry once.
      knownDirs.delete(dir);
      await makeDir(dir, this.destination);
      this.#handle = await open(this.#tempPath, 'wx').catch((e: unknown) => {
        throw writeFailed(e, this.destination);
      });
    }
  }

  async #discard(): Promise<void> {
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

async function makeDir(dir: string, destination: string): Promise<void> {
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw writeFailed(error, destination);
  }
  if (knownDirs.size >= KNOWN_DIRS_MAX) knownDirs.clear();
  knownDirs.add(dir);
}

function writeFailed(error: unknown, destination: string): DownloadError {
  if (DownloadError.isInstance(error)) return error;
  const code = (error as NodeJS.ErrnoException).code ?? 'unknown';
  return new DownloadError(`Cannot write ${destination} (${code})`, {
    code: ErrorCodes.WriteFailed,
    cause: error,
    details: { destination },
  });
}
