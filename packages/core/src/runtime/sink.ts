import type { RemoteMetadata } from '../contracts/remote-resource.js';

/** A partial an earlier run kept for this sink's destination, ready to be continued. */
export interface KeptPrefix {
  /** Bytes kept: the next attempt starts there. */
  readonly offset: number;
  /** The validators those bytes came with, for the adapter's resume check (If-Range, size, MDTM). */
  readonly resumeFrom: RemoteMetadata;
  /** The kept bytes, read once to rebuild the hash state. */
  readonly prefix: AsyncIterable<Uint8Array>;
}

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
  /**
   * Takes over a partial an earlier run kept for the same destination and
   * request (see `resume-store.ts`); undefined when there is none that fits.
   * Called once, before the first attempt; with `canResume` false (the
   * adapter cannot start at an offset) a kept partial is only removed.
   */
  resume?(canResume: boolean): Promise<KeptPrefix | undefined>;
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
