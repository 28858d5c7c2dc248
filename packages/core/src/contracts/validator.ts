import type { DownloadRequest } from './download-request.js';
import type { RemoteMetadata } from './remote-resource.js';

/**
 * An incremental check of the bytes of one download. The core feeds it every
 * chunk in order, exactly once, in the same pass that writes the bytes.
 *
 * Implementations throw a `ValidationError` to fail: from `begin` when the
 * metadata already contradicts what was expected (a Content-Length that is
 * not the expected size), from `update` as soon as the bytes cannot be right
 * (a size overrun), and from `finish` when the whole body is wrong.
 */
export interface Validator {
  /** Name reported in errors (`size`, `sha256`, or the custom validator's). */
  readonly name: string;
  /** Called with each attempt's metadata before its first body byte. */
  begin?(metadata: RemoteMetadata): void;
  /** Called with every chunk, in order. */
  update(chunk: Uint8Array): void;
  /** Called once after the last chunk. */
  finish(): void;
  /** Forget everything seen: the next attempt restarts from byte 0. */
  reset(): void;
}

/** Builds a custom validator for one request. */
export type ValidatorFactory = (request: DownloadRequest<unknown>) => Validator;
