import type { DownloadRequest } from '../contracts/download-request.js';
import type { Downloader, OpenedDownload } from '../contracts/downloader.js';
import type { Logger } from '../contracts/logger.js';
import type { RemoteMetadata } from '../contracts/remote-resource.js';
import { abortError, toDownloadError, type DownloadError } from '../errors/download-error.js';
import { FileSink } from '../runtime/file-sink.js';

/** How a {@link Flight} runs. */
export interface FlightOptions {
  readonly downloader: Downloader;
  readonly request: DownloadRequest<unknown>;
  /** Whether requests arriving later may join (needs the bytes from the start). */
  readonly shared: boolean;
  readonly replayBytes: number;
  readonly windowBytes: number;
  /** Tee destination: written while streaming, renamed into place once validated. */
  readonly cache: string | undefined;
  readonly log: Logger;
  /** Called once when the flight stops accepting readers. */
  readonly onClosed: () => void;
}

type Phase = 'opening' | 'flowing' | 'ended' | 'failed';

interface Cursor {
  /** Absolute index of the next chunk to hand out. */
  index: number;
  /** Bytes handed out. */
  bytes: number;
  gone: boolean;
}

/** One reader's view of a {@link Flight}. */
export interface FlightReader {
  /**
   * Resolves with the metadata to answer with once the first byte (or the
   * clean end of an empty body) arrived; rejects when the download failed
   * before that, so the caller can still answer with an error status.
   */
  ready(): Promise<RemoteMetadata>;
  /** The next chunk, or `null` after the last one once the whole body validated. Rejects on failure. */
  next(): Promise<Uint8Array | null>;
  /**
   * {@link FlightReader.next} without waiting: the next chunk (or `null`) when
   * it is already there, `undefined` when it is not yet. Throws on failure.
   * Saves a promise per chunk while the reader is behind.
   */
  take(): Uint8Array | null | undefined;
  /** Resolves once the body ended validated; rejects when it failed. */
  settled(): Promise<void>;
  /** Stops reading; the download is aborted when its last reader leaves. Idempotent. */
  leave(): void;
  /**
   * Once the body ended or failed: settles when the flight is over (the
   * tee's copy renamed into place or removed). Resolves at once otherwise.
   */
  over(): Promise<void>;
}

/**
 * One upstream download read once and handed to one or more readers: the
 * single-flight behind identical concurrent requests. The upstream is read
 * only while the slowest reader is less than `windowBytes` behind, so a
 * slow client slows the transfer and memory stays bounded. While the bytes
 * received fit in `replayBytes` they are all kept, so a late reader still
 * starts at byte 0; past that the flight closes to newcomers and drops each
 * chunk once every reader took it. The optional tee writes every chunk into
 * a `FileSink` and commits it only after the body ended validated.
 */
export class Flight {
  readonly #options: FlightOptions;
  readonly #abort = new AbortController();
  readonly #readers = new Set<Cursor>();
  #phase: Phase = 'opening';
  #metadata: RemoteMetadata | undefined;
  #error: DownloadError | undefined;
  #chunks: Uint8Array[] = [];
  /** Absolute index of `#chunks[0]`. */
  #first = 0;
  /** Chunks received so far. */
  #count = 0;
  /** Bytes received so far. */
  #head = 0;
  #open = true;
  #tee: FileSink | undefined;
  /** Created when someone waits for a change, settled by the next one. */
  #changed: Deferred | undefined;
  /** Settles when the flight is over, the tee committed or removed. */
  readonly done: Promise<void>;
  /** The reader of the request that started the flight. */
  readonly starter: FlightReader;

  constructor(options: FlightOptions) {
    this.#options = options;
    this.#tee = options.cache === undefined ? undefined : new FileSink(options.cache);
    this.starter = this.join()!;
    this.done = this.#pump();
  }

  /** The metadata answered with, once the first byte arrived. */
  get metadata(): RemoteMetadata | undefined {
    return this.#metadata;
  }

  /** A reader from byte 0, or `undefined` when the flight no longer takes readers. */
  join(): FlightReader | undefined {
    if (!this.#open) return undefined;
    const cursor: Cursor = { index: 0, bytes: 0, gone: false };
    this.#readers.add(cursor);
    return {
      ready: () => this.#ready(cursor),
      next: () => this.#next(cursor),
      take: () => this.#take(cursor),
      settled: () => this.#settled(cursor),
      leave: () => this.#leave(cursor),
      over: () =>
        this.#phase === 'ended' || this.#phase === 'failed' ? this.done : Promise.resolve(),
    };
  }

  async #ready(cursor: Cursor): Promise<RemoteMetadata> {
    await this.#until(() => cursor.gone || this.#phase !== 'opening');
    if (cursor.gone) throw abortError();
    if (this.#metadata === undefined) throw this.#error ?? abortError();
    return this.#metadata;
  }

  async #next(cursor: Cursor): Promise<Uint8Array | null> {
    for (;;) {
      const chunk = this.#take(cursor);
      if (chunk !== undefined) return chunk;
      await this.#change();
    }
  }

  #take(cursor: Cursor): Uint8Array | null | undefined {
    if (cursor.gone) throw abortError();
    if (this.#phase === 'failed') throw this.#error;
    if (cursor.index < this.#count) {
      const chunk = this.#chunks[cursor.index - this.#first]!;
      cursor.index++;
      cursor.bytes += chunk.byteLength;
      this.#trim();
      this.#notify();
      return chunk;
    }
    return this.#phase === 'ended' ? null : undefined;
  }

  async #settled(cursor: Cursor): Promise<void> {
    await this.#until(() => cursor.gone || this.#phase === 'ended' || this.#phase === 'failed');
    if (cursor.gone) throw abortError();
    if (this.#phase === 'failed') throw this.#error;
  }

  #leave(cursor: Cursor): void {
    if (cursor.gone) return;
    cursor.gone = true;
    this.#readers.delete(cursor);
    if (this.#readers.size === 0 && (this.#phase === 'opening' || this.#phase === 'flowing')) {
      this.#close();
      this.#abort.abort(abortError());
    }
    this.#trim();
    this.#notify();
  }

  async #pump(): Promise<void> {
    const { downloader, request, windowBytes, replayBytes, shared } = this.#options;
    if (!shared) this.#close();
    let opened: OpenedDownload<unknown> | undefined;
    try {
      opened = await downloader.open(request, { signal: this.#abort.signal });
      const iterator = opened.body[Symbol.asyncIterator]();
      for (;;) {
        while (this.#readers.size > 0 && this.#head - this.#slowest() > windowBytes) {
          await this.#change();
        }
        if (this.#readers.size === 0) throw abortError();
        const step = await iterator.next();
        if (step.done) break;
        if (this.#phase === 'opening') this.#begin(opened);
        this.#chunks.push(step.value);
        this.#count++;
        this.#head += step.value.byteLength;
        if (this.#head > replayBytes) this.#close();
        this.#trim();
        this.#notify();
        if (this.#tee !== undefined) await this.#teeWrite(step.value);
      }
      if (this.#phase === 'opening') this.#begin(opened);
      this.#phase = 'ended';
      this.#close();
      this.#notify();
      await this.#teeCommit();
    } catch (thrown) {
      this.#error = this.#abort.signal.aborted ? abortError() : toDownloadError(thrown);
      this.#phase = 'failed';
      this.#close();
      this.#chunks = [];
      this.#notify();
      opened?.abort(this.#error);
      await this.#tee?.abort().catch(() => {});
    }
  }

  #begin(opened: OpenedDownload<unknown>): void {
    // Read now, not at open: it follows a retry (or another mirror) that serves the bytes.
    this.#metadata = opened.metadata;
    this.#phase = 'flowing';
  }

  async #teeWrite(chunk: Uint8Array): Promise<void> {
    try {
      await this.#tee!.write(chunk);
    } catch (error) {
      // The clients still get their bytes; only the copy is given up.
      this.#teeFailed(error);
    }
  }

  async #teeCommit(): Promise<void> {
    try {
      await this.#tee?.commit();
    } catch (error) {
      this.#teeFailed(error);
    }
  }

  #teeFailed(error: unknown): void {
    const tee = this.#tee;
    this.#tee = undefined;
    void tee?.abort().catch(() => {});
    const failure = toDownloadError(error);
    this.#options.log.warn('streamer: cache copy abandoned', {
      destination: tee?.destination,
      code: failure.code,
      message: failure.message,
    });
  }

  /** Bytes handed to the slowest reader. */
  #slowest(): number {
    let min = Infinity;
    for (const cursor of this.#readers) min = Math.min(min, cursor.bytes);
    return min === Infinity ? this.#head : min;
  }

  /** Drops the chunks every reader took, once no newcomer can need them. */
  #trim(): void {
    if (this.#open) return;
    let min = this.#count;
    for (const cursor of this.#readers) min = Math.min(min, cursor.index);
    const drop = min - this.#first;
    if (drop <= 0) return;
    this.#chunks.splice(0, drop);
    this.#first = min;
  }

  #close(): void {
    if (!this.#open) return;
    this.#open = false;
    this.#options.onClosed();
  }

  /** Wakes whoever waits for a change; nothing to do (no promise made) when nobody does. */
  #notify(): void {
    const changed = this.#changed;
    if (changed === undefined) return;
    this.#changed = undefined;
    changed.resolve();
  }

  /** Settles at the next change. */
  #change(): Promise<void> {
    return (this.#changed ??= deferred()).promise;
  }

  async #until(condition: () => boolean): Promise<void> {
    while (!condition()) await this.#change();
  }
}

interface Deferred {
  readonly promise: Promise<void>;
  readonly resolve: () => void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => (resolve = r));
  return { promise, resolve };
}
