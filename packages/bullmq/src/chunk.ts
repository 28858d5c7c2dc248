import { deflateRawSync, inflateRawSync } from 'node:zlib';
import { DownloadError, ErrorCodes, type DownloadRequest, type Digests } from '@dl/core';

/**
 * What a fleet can carry of a {@link DownloadRequest}: plain data only. The
 * context must be JSON (it travels through Redis and comes back on the
 * outcome); headers, streams, validators, ranges and signals are code or may
 * hold secrets and are refused.
 */
export interface ChunkRequest {
  readonly url: string;
  readonly destination?: string;
  readonly size?: number;
  readonly digests?: Digests;
  readonly context?: unknown;
}

/** The data of one chunk job: compact, because Redis holds it while it waits. */
export interface ChunkJobData {
  /** The run id: where the worker finds the factory's configuration. */
  readonly r: string;
  /** Chunk number within the run. */
  readonly n: number;
  /** Number of requests. */
  readonly k: number;
  /** The requests as JSON lines of {@link WireRequest}, raw-deflated, base64. */
  readonly z: string;
}

/** One request on the wire: short keys, absent fields left out. */
interface WireRequest {
  u: string;
  d?: string;
  s?: number;
  h?: Digests;
  c?: unknown;
}

const UNSUPPORTED = [
  'writable',
  'validators',
  'headers',
  'range',
  'signal',
  'computeDigests',
] as const;

/**
 * Checks that `request` can travel to a fleet worker and returns its plain
 * form. Throws an `invalid-request` {@link DownloadError} naming the request
 * (`details.index`, its URL) when it cannot: a context that is not JSON, a
 * field that is code or may hold a secret.
 */
export function toChunkRequest(request: DownloadRequest<unknown>, index: number): ChunkRequest {
  const url = typeof request.url === 'string' ? request.url : request.url?.href;
  if (typeof url !== 'string')
    throw invalid(index, undefined, 'url', 'a string or URL is required');
  for (const field of UNSUPPORTED) {
    if (request[field] !== undefined) {
      throw invalid(
        index,
        url,
        field,
        'a fleet carries only url, destination, size, digests and a JSON context',
      );
    }
  }
  if (request.destination !== undefined && typeof request.destination !== 'string') {
    throw invalid(index, url, 'destination', 'must be a string');
  }
  const problem = jsonProblem(request.context, 'context', 0);
  if (problem !== undefined) throw invalid(index, url, 'context', `is not JSON: ${problem}`);
  return {
    url,
    ...(request.destination === undefined ? {} : { destination: request.destination }),
    ...(request.size === undefined ? {} : { size: request.size }),
    ...(request.digests === undefined ? {} : { digests: request.digests }),
    ...(request.context === undefined ? {} : { context: request.context }),
  };
}

/** Where `value` stops being JSON that survives a round trip, or undefined. */
function jsonProblem(value: unknown, path: string, depth: number): string | undefined {
  if (depth > 64) return `${path} is nested too deep (a cycle?)`;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return undefined;
  if (value === undefined) return depth === 0 ? undefined : `${path} is undefined`;
  if (typeof value === 'number') return Number.isFinite(value) ? undefined : `${path} is ${value}`;
  if (typeof value !== 'object') return `${path} is a ${typeof value}`;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const inner = jsonProblem(value[i], `${path}[${i}]`, depth + 1);
      if (inner !== undefined) return inner;
    }
    return undefined;
  }
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) {
    return `${path} is a ${(value as object).constructor?.name ?? 'non-plain object'}`;
  }
  for (const [key, inner] of Object.entries(value)) {
    const found = jsonProblem(inner, `${path}.${key}`, depth + 1);
    if (found !== undefined) return found;
  }
  return undefined;
}

function invalid(
  index: number,
  url: string | undefined,
  field: string,
  why: string,
): DownloadError {
  return new DownloadError(
    `Request #${index}${url === undefined ? '' : ` (${url})`} cannot be sent to a fleet: ${field} ${why}`,
    {
      code: ErrorCodes.InvalidRequest,
      ...(url === undefined ? {} : { url }),
      details: { field, index },
    },
  );
}

/** Packs requests into a chunk's `z`: JSON lines with short keys, raw-deflated, base64. */
export function encodeChunk(requests: readonly ChunkRequest[]): string {
  const lines = requests.map((request) => {
    const wire: WireRequest = { u: request.url };
    if (request.destination !== undefined) wire.d = request.destination;
    if (request.size !== undefined) wire.s = request.size;
    if (request.digests !== undefined) wire.h = request.digests;
    if (request.context !== undefined) wire.c = request.context;
    return JSON.stringify(wire);
  });
  return deflateRawSync(lines.join('\n'), { level: 9 }).toString('base64');
}

/** Unpacks a chunk's `z` (see {@link encodeChunk}). */
export function decodeChunk(z: string): ChunkRequest[] {
  const text = inflateRawSync(Buffer.from(z, 'base64')).toString('utf8');
  if (text === '') return [];
  return text.split('\n').map((line) => {
    const wire = JSON.parse(line) as WireRequest;
    return {
      url: wire.u,
      ...(wire.d === undefined ? {} : { destination: wire.d }),
      ...(wire.s === undefined ? {} : { size: wire.s }),
      ...(wire.h === undefined ? {} : { digests: wire.h }),
      ...('c' in wire ? { context: wire.c } : {}),
    };
  });
}
