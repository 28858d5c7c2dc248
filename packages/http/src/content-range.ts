/** A parsed `Content-Range: bytes first-last/complete` of a 206. */
export interface ContentRange {
  readonly first: number;
  readonly last: number;
  /** The whole resource's size, when the server knows it (`*` otherwise). */
  readonly complete?: number;
}

const BYTES_RANGE = /^\s*bytes\s+(\d+)-(\d+)\s*\/\s*(\d+|\*)\s*$/i;

/** Parses a satisfied byte range; `undefined` for anything else (including `bytes *\/n`). */
export function parseContentRange(value: string | undefined): ContentRange | undefined {
  const m = value === undefined ? null : BYTES_RANGE.exec(value);
  if (!m) return undefined;
  const first = Number(m[1]);
  const last = Number(m[2]);
  if (!Number.isSafeInteger(first) || !Number.isSafeInteger(last) || last < first) return undefined;
  if (m[3] === '*') return { first, last };
  const complete = Number(m[3]);
  if (!Number.isSafeInteger(complete) || complete <= last) return undefined;
  return { first, last, complete };
}

/** The `Range` header for bytes `first` to `last` (inclusive; open-ended when absent). */
export function rangeHeader(first: number, last: number | undefined): string {
  return `bytes=${first}-${last === undefined ? '' : last}`;
}
