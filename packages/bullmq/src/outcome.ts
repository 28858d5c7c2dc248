import type { Digests, DownloadOutcome } from '@dl/core';
import type { ChunkRequest } from './chunk.js';

/** The request of a {@link FleetOutcome}, as plain JSON. */
export interface FleetRequestRecord {
  readonly url: string;
  readonly destination?: string;
  readonly size?: number;
  readonly digests?: Digests;
}

/** What a successful download of a fleet left, as plain JSON. */
export interface FleetResultRecord {
  /** The URL that served the bytes (after redirects or mirrors), without credentials. */
  readonly url: string;
  readonly size: number;
  /** Every digest computed (or, when skipped, verified). */
  readonly digests: Digests;
  /** Where the file is, when the request had a destination. */
  readonly path?: string;
  /** Attempts it took; 0 when skipped. */
  readonly attempts: number;
  /** The destination already held a file of the expected size and digests: nothing was downloaded. */
  readonly skipped?: true;
}

/** Why a download of a fleet failed, as plain JSON (a `DownloadError`'s stable fields). */
export interface FleetErrorRecord {
  /** A stable `DownloadError` code, or `fleet-chunk-failed` when the chunk failed for good before this file had an outcome. */
  readonly code: string;
  readonly message: string;
  readonly retryable: boolean;
}

/**
 * What a fleet run yields for each request, exactly once: plain JSON like
 * a line of `dl get --json`, with the request's context untouched.
 */
export type FleetOutcome<C = unknown> =
  | {
      readonly ok: true;
      readonly context: C;
      readonly request: FleetRequestRecord;
      readonly result: FleetResultRecord;
    }
  | {
      readonly ok: false;
      readonly context: C;
      readonly request: FleetRequestRecord;
      readonly error: FleetErrorRecord;
    };

/** The code of a failure outcome for a file whose chunk failed for good (worker errors, attempts exhausted). */
export const FLEET_CHUNK_FAILED = 'fleet-chunk-failed';

/** One file's outcome on the wire, worker to producer: the request and context stay out (the producer has them). */
export type WireOutcome =
  | { readonly i: number; readonly r: FleetResultRecord }
  | { readonly i: number; readonly e: FleetErrorRecord };

/** What a chunk job returns (and what its progress events carry): outcomes by index within the chunk. */
export interface ChunkReport {
  readonly o: readonly WireOutcome[];
  /** The run's configuration was gone when the chunk was taken (the run ended): nothing was done. */
  readonly gone?: true;
}

/** The wire form of a core outcome whose context is its index in the chunk. */
export function toWireOutcome(outcome: DownloadOutcome<number>): WireOutcome {
  if (outcome.ok) {
    const { result } = outcome;
    return {
      i: outcome.context,
      r: {
        url: result.url,
        size: result.size,
        digests: result.digests,
        ...(result.path === undefined ? {} : { path: result.path }),
        attempts: result.attempts,
      },
    };
  }
  const { error } = outcome;
  return {
    i: outcome.context,
    e: { code: error.code, message: error.message, retryable: error.retryable },
  };
}

/** The outcome the producer yields for `wire`, with the request it was sent for. */
export function fromWireOutcome<C>(wire: WireOutcome, request: ChunkRequest): FleetOutcome<C> {
  const record = requestRecord(request);
  const context = request.context as C;
  if ('r' in wire) return { ok: true, context, request: record, result: wire.r };
  return { ok: false, context, request: record, error: wire.e };
}

/** The failure outcome of a request whose chunk failed for good. */
export function chunkFailedOutcome<C>(request: ChunkRequest, reason: string): FleetOutcome<C> {
  return {
    ok: false,
    context: request.context as C,
    request: requestRecord(request),
    error: { code: FLEET_CHUNK_FAILED, message: reason, retryable: false },
  };
}

function requestRecord(request: ChunkRequest): FleetRequestRecord {
  return {
    url: request.url,
    ...(request.destination === undefined ? {} : { destination: request.destination }),
    ...(request.size === undefined ? {} : { size: request.size }),
    ...(request.digests === undefined ? {} : { digests: request.digests }),
  };
}
