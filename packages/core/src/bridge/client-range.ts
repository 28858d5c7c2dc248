import type { IncomingHttpHeaders } from 'node:http';

/** What to do with a client's `Range` header. */
export type RangeDecision =
  | { readonly kind: 'full' }
  | { readonly kind: 'partial'; readonly start: number; readonly end: number | undefined }
  | { readonly kind: 'unsatisfiable' };

const FULL: RangeDecision = { kind: 'full' };
const SINGLE_RANGE = /^bytes[ \t]*=[ \t]*(\d*)[ \t]*-[ \t]*(\d*)[ \t]*$/i;

/**
 * Reads a client's `Range` (RFC 9110 §14.2). Only one byte range is served
 * partially; anything the streamer cannot honour exactly is answered with
 * the whole file, which a server may always do: several ranges, a malformed
 * header, an `If-Range` (it can only be checked once the upstream answered),
 * and a suffix range (`bytes=-N`) when the size is not known in advance.
 *
 * @param size - The file's size when known beforehand (the target's expected size).
 */
export function clientRange(
  headers: IncomingHttpHeaders | undefined,
  size: number | undefined,
): RangeDecision {
  const value = headers?.range;
  if (typeof value !== 'string' || headers?.['if-range'] !== undefined) return FULL;
  const match = SINGLE_RANGE.exec(value.trim());
  if (match === null) return FULL;
  const [, first = '', last = ''] = match;
  if (first === '') {
    if (last === '' || size === undefined) return FULL;
    const suffix = Number(last);
    if (!Number.isSafeInteger(suffix)) return FULL;
    if (suffix === 0 || size === 0) return { kind: 'unsatisfiable' };
    return { kind: 'partial', start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  const end = last === '' ? undefined : Number(last);
  if (!Number.isSafeInteger(start) || (end !== undefined && !Number.isSafeInteger(end))) {
    return FULL;
  }
  if (end !== undefined && end < start) return FULL;
  if (size === undefined) return { kind: 'partial', start, end };
  if (start >= size) return { kind: 'unsatisfiable' };
  return { kind: 'partial', start, end: Math.min(end ?? size - 1, size - 1) };
}
