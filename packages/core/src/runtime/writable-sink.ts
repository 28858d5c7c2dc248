import { once } from 'node:events';
import type { Writable } from 'node:stream';
import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';
import type { Sink } from './sink.js';

/**
 * Writes into a caller's stream with backpressure. Bytes handed to a stream
 * cannot be taken back, so a restart after the first byte is an error; a
 * resume from the offset reached is fine.
 */
export class WritableSink implements Sink {
  #written = 0;

  constructor(private readonly stream: Writable) {}

  async write(chunk: Uint8Array): Promise<void> {
    this.#written += chunk.byteLength;
    if (!this.stream.write(chunk)) {
      await once(this.stream, 'drain');
    }
  }

  async restart(): Promise<void> {
    if (this.#written > 0) {
      throw new DownloadError(
        'The remote restarted the transfer after bytes were passed on to the stream',
        {
          code: ErrorCodes.ProtocolError,
          retryable: false,
        },
      );
    }
  }

  async commit(): Promise<undefined> {
    await new Promise<void>((resolve, reject) => {
      this.stream.end((error?: Error | null) => (error ? reject(error) : resolve()));
    });
    return undefined;
  }

  async abort(reason?: unknown): Promise<void> {
    if (!this.stream.destroyed) this.stream.destroy(reason instanceof Error ? reason : undefined);
  }
}
