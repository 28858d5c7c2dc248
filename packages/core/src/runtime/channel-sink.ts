import type { RemoteMetadata } from '../contracts/remote-resource.js';
import type { Sink } from './sink.js';

interface Deferred {
  resolve(): void;
  reject(error: unknown): void;
}

/**
 * Hands validated chunks to a reader one at a time (the streamer's body):
 * the download waits until the reader took each chunk, so a slow reader
 * slows the remote read and memory stays at one chunk. The reader sees the
 * end only after the sink was committed, i.e. after the whole body
 * validated; a failure reaches it as an error instead of an end.
 */
export class ChannelSink implements Sink {
  #chunk: Uint8Array | undefined;
  #ended = false;
  #error: unknown;
  #failed = false;
  #producer: Deferred | undefined;
  #consumer: Deferred | undefined;
  #handedOut = false;
  #metadata: RemoteMetadata | undefined;
  #gotMetadata: ((metadata: RemoteMetadata) => void) | undefined;
  /** The first attempt's metadata, once it opened. */
  readonly firstMetadata = new Promise<RemoteMetadata>((resolve) => (this.#gotMetadata = resolve));

  constructor(private readonly onReaderGone: (reason?: unknown) => void) {}

  /** True once the reader received a byte: from then on the download may resume, never restart. */
  get irrevocable(): boolean {
    return this.#handedOut;
  }

  /** The latest attempt's metadata. */
  get metadata(): RemoteMetadata | undefined {
    return this.#metadata;
  }

  opened(metadata: RemoteMetadata): void {
    this.#metadata = metadata;
    this.#gotMetadata?.(metadata);
    this.#gotMetadata = undefined;
  }

  write(chunk: Uint8Array): Promise<void> {
    if (this.#failed) return Promise.reject(this.#error);
    this.#chunk = chunk;
    const taken = new Promise<void>((resolve, reject) => (this.#producer = { resolve, reject }));
    this.#wakeReader();
    return taken;
  }

  async restart(): Promise<void> {}

  async commit(): Promise<undefined> {
    this.#ended = true;
    this.#wakeReader();
    return undefined;
  }

  async abort(reason?: unknown): Promise<void> {
    if (this.#ended || this.#failed) return;
    this.#failed = true;
    this.#error = reason;
    this.#producer?.reject(reason);
    this.#producer = undefined;
    this.#wakeReader();
  }

  /** The reader's side. Leaving it early cancels the download. */
  async *read(): AsyncGenerator<Uint8Array> {
    let finished = false;
    try {
      for (;;) {
        if (this.#chunk !== undefined) {
          const chunk = this.#chunk;
          this.#chunk = undefined;
          this.#handedOut = true;
          const producer = this.#producer;
          this.#producer = undefined;
          producer?.resolve();
          yield chunk;
          continue;
        }
        if (this.#failed) throw this.#error;
        if (this.#ended) {
          finished = true;
          return;
        }
        await new Promise<void>((resolve, reject) => (this.#consumer = { resolve, reject }));
      }
    } finally {
      if (!finished && !this.#failed) this.onReaderGone();
    }
  }

  #wakeReader(): void {
    const consumer = this.#consumer;
    this.#consumer = undefined;
    consumer?.resolve();
  }
}
