/** A satisfiable byte range, `end` exclusive. @internal */
export interface ByteRange {
  readonly start: number;
  readonly end: number;
}

/**
 * Parses a single-range `Range` header against a resource of `size` bytes.
 * `undefined`: no usable range (absent, malformed or several ranges), serve
 * the whole resource; `'unsatisfiable'`: answer 416.
 *
 * @internal
 */
export function parseRange(
  header: string | undefined,
  size: number,
): ByteRange | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (match === null) return undefined;
  const [, first = '', last = ''] = match;
  if (first === '' && last === '') return undefined;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size };
  }
  const start = Number(first);
  const end = last === '' ? size : Math.min(size, Number(last) + 1);
  if (last !== '' && Number(last) < start) return undefined;
  if (start >= size) return 'unsatisfiable';
  return { start, end };
}
