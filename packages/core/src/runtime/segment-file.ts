import { open, rename, unlink, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { checkWhole, FileSinkContext, makeDir, writeFailed } from './file-sink.js';
import type { Sink } from './sink.js';

const FLUSH_BYTES = 256 * 1024;

/**
 * The one temp file a split download writes: every segment writes at its
 * own offsets over the same handle (positional writes), the in-order hasher
 * reads completed bytes back, and the owner renames it into place once the
 * whole file validated. Opened on the first write.
 */
export class SegmentFile {
  #opening: Promise<FileHandle> | undefined;
  #handle: FileHandle | undefined;
  #temp: string | undefined;

  constructor(
    readonly destination: string,
    private readonly url: string | URL,
    private readonly files: FileSinkContext,
  ) {}

  handle(): Promise<FileHandle> {
    this.#opening ??= this.#open();
    return this.#opening;
  }

  /** Writes `chunks` (`bytes` in all) at `position`. */
  async writeAt(chunks: Uint8Array[], bytes: number, position: number): Promise<void> {
    try {
      const handle = await this.handle();
      checkWhole((await handle.writev(chunks, position)).bytesWritten, bytes);
    } catch (error) {
      throw writeFailed(error, this.destination, this.url);
    }
  }

  /** Reads `length` bytes at `position`, which were written before. */
  async readAt(position: number, length: number): Promise<Uint8Array> {
    const buffer = Buffer.allocUnsafe(length);
    try {
      const handle = await this.handle();
      const { bytesRead } = await handle.read(buffer, 0, length, position);
      checkWhole(bytesRead, length);
    } catch (error) {
      throw writeFailed(error, this.destination, this.url);
    }
    return buffer;
  }

  /** Closes the file and renames it into place. */
  async commit(): Promise<string> {
    try {
      await this.handle();
      await this.#handle!.close();
      this.#handle = undefined;
      await rename(this.#temp!, this.destination);
      this.#temp = undefined;
      return this.destination;
    } catch (error) {
      await this.discard();
      throw writeFailed(error, this.destination, this.url);
    }
  }

  /** Closes and removes the temp file. Idempotent; call only once no write is in flight. */
  async discard(): Promise<void> {
    await this.#opening?.catch(() => {});
    const handle = this.#handle;
    const temp = this.#temp;
    this.#handle = undefined;
    this.#temp = undefined;
    await handle?.close().catch(() => {});
    if (temp !== undefined) await unlink(temp).catch(() => {});
  }

  async #open(): Promise<FileHandle> {
    const dir = dirname(this.destination);
    for (let tries = 0; ; tries++) {
      try {
        if (!this.files.knowsDir(dir)) {
          await makeDir(dir);
          this.files.rememberDir(dir);
        }
        const temp = this.files.tempPath(dir, basename(this.destination));
        this.#handle = await open(temp, 'wx+');
        this.#temp = temp;
        return this.#handle;
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code;
        if (tries >= 2 || (code !== 'ENOENT' && code !== 'EEXIST')) {
          throw writeFailed(error, this.destination, this.url);
        }
        this.files.forgetDir(dir);
      }
    }
  }
}

/**
 * Writes one segment's bytes at their offsets in a {@link SegmentFile},
 * gathering small chunks into one positional `writev` with one write in
 * flight while the next chunks arrive, as the file sink does. `flushed` is
 * where the bytes on disk from `start` end: the in-order hasher may read up
 * to there. It does not commit: the split download owns the file.
 */
export class PositionalSink implements Sink {
  #position: number;
  #pending: Uint8Array[] = [];
  #pendingBytes = 0;
  #pendingStart = 0;
  #flushed: number;
  #writing: Promise<void> | undefined;
  #failure: unknown;

  /**
   * @param onFlushed - called whenever `flushed` moved
   * @param skipping - while true, chunks are taken without being written (they are in the file already)
   */
  constructor(
    private readonly file: SegmentFile,
    readonly start: number,
    private readonly onFlushed: () => void,
    private readonly skipping: () => boolean = () => false,
  ) {
    this.#position = start;
    this.#flushed = start;
  }

  get flushed(): number {
    return this.#flushed;
  }

  write(chunk: Uint8Array): Promise<void> | void {
    if (this.#failure !== undefined) return Promise.reject(this.#failure);
    if (this.skipping()) {
      const pending = this.#pendingBytes > 0 ? this.#flush() : undefined;
      this.#position += chunk.byteLength;
      return pending;
    }
    if (this.#pendingBytes === 0) this.#pendingStart = this.#position;
    this.#pending.push(chunk);
    this.#pendingBytes += chunk.byteLength;
    this.#position += chunk.byteLength;
    if (this.#pendingBytes < FLUSH_BYTES) return;
    // A write is running: wait for it (backpressure); the next chunk starts the next one.
    if (this.#writing !== undefined) return this.#writing;
    void this.#flush();
  }

  async restart(): Promise<void> {
    await this.#settle();
    this.#failure = undefined;
    this.#position = this.start;
    this.#flushed = this.start;
    this.onFlushed();
  }

  /** Writes what is pending; the bytes are then all on disk. */
  async commit(): Promise<undefined> {
    await this.#writing;
    if (this.#pendingBytes > 0) await this.#flush();
    if (this.#failure !== undefined) throw this.#failure;
    return undefined;
  }

  async abort(): Promise<void> {
    await this.#settle();
  }

  /** Waits for the write in flight and forgets what is pending. */
  async #settle(): Promise<void> {
    while (this.#writing !== undefined) await this.#writing;
    this.#pending = [];
    this.#pendingBytes = 0;
  }

  /** Starts writing what is pending after the write in flight; never rejects (the failure is kept). */
  #flush(): Promise<void> {
    const chunks = this.#pending;
    const bytes = this.#pendingBytes;
    const at = this.#pendingStart;
    this.#pending = [];
    this.#pendingBytes = 0;
    const previous = this.#writing;
    const writing: Promise<void> = this.#writeAfter(previous, chunks, bytes, at).finally(() => {
      if (this.#writing === writing) this.#writing = undefined;
    });
    this.#writing = writing;
    return writing;
  }

  async #writeAfter(
    previous: Promise<void> | undefined,
    chunks: Uint8Array[],
    bytes: number,
    at: number,
  ): Promise<void> {
    await previous;
    if (this.#failure !== undefined) return;
    try {
      await this.file.writeAt(chunks, bytes, at);
      if (at === this.#flushed) {
        this.#flushed = at + bytes;
        this.onFlushed();
      }
    } catch (error) {
      this.#failure = error;
    }
  }
}
