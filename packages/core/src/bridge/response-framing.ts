import type { RemoteMetadata } from '../contracts/remote-resource.js';

/** Status and body framing of one response. */
export interface Framing {
  readonly status: 200 | 206;
  /** Bytes the body will have; `undefined` sends it chunked. */
  readonly length: number | undefined;
  /** `Content-Range` of a 206. */
  readonly contentRange?: string;
}

/**
 * A whole file: its length is the expected size when the target has one
 * (validation guarantees it or fails the transfer), else what the upstream
 * announced.
 */
export function fullFraming(metadata: RemoteMetadata, expectedSize: number | undefined): Framing {
  const length =
    expectedSize ?? metadata.length ?? (metadata.offset === 0 ? metadata.size : undefined);
  return { status: 200, length };
}

/**
 * A byte range starting at `start`: a 206 needs the last byte position, so
 * the length must be known (announced by the upstream, or derived from the
 * range and the complete size); `undefined` when it is not, and the caller
 * serves the whole file instead. The body is cut at this length whatever
 * the upstream sends.
 */
export function partialFraming(
  metadata: RemoteMetadata,
  start: number,
  end: number | undefined,
  expectedSize: number | undefined,
): Framing | undefined {
  const complete = metadata.size ?? expectedSize;
  // Adapters may send more than asked (an FTP REST reads to the end): the range bounds it.
  const last = Math.min(end ?? Infinity, complete === undefined ? Infinity : complete - 1);
  const wanted = last === Infinity ? undefined : last - start + 1;
  const length =
    metadata.length === undefined || wanted === undefined
      ? (metadata.length ?? wanted)
      : Math.min(metadata.length, wanted);
  if (length === undefined || length <= 0) return undefined;
  return {
    status: 206,
    length,
    contentRange: `bytes ${start}-${start + length - 1}/${complete ?? '*'}`,
  };
}
