import type { RemoteMetadata } from '../contracts/remote-resource.js';

/**
 * Where the validated bytes of one download go. Every method is called by
 * the attempt loop only, one at a time.
 */
export interface Sink {
  /** Takes the next chunk. May return a promise to apply backpressure. */
  write(chunk: Uint8Array): Promise<void> | void;
  /** Forgets everything written: the next attempt starts from byte 0. */
  restart(): Promise<void>;
  /** The bytes validated: make them visible. Returns the final path, if any. */
  commit(): Promise<string | undefined>;
  /** The download failed or was cancelled: remove every trace. Idempotent. */
  abort(reason?: unknown): Promise<void>;
  /** Told each attempt's metadata before its body is read (`open()` hands it to its caller). */
  opened?(metadata: RemoteMetadata): void;
  /** True once bytes reached someone who cannot take them back: a failure may then only resume, provably the same bytes, never restart. */
  readonly irrevocable?: boolean;
}

/** A sink that only counts: for downloads that validate without keeping the bytes. */
export const discardSink: Sink = {
  write() {},
  async restart() {},
  async commit() {
    return undefined;
  },
  async abort() {},
};
