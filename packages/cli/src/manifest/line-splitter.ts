/** One line of a text stream, numbered from 1, with where it starts. */
export type NumberedLine = {
  readonly number: number;
  /** Byte offset of the line's first byte in the stream. */
  readonly offset: number;
} & (
  | { readonly text: string; readonly tooLong?: undefined }
  /** A line longer than the limit: its text is dropped, never held in memory. */
  | { readonly text?: undefined; readonly tooLong: true }
);

/** Longest manifest line accepted, in bytes. */
export const MAX_LINE_BYTES = 1024 * 1024;

const NEWLINE = 0x0a;
const EMPTY = Buffer.alloc(0);

/**
 * Splits a byte stream into lines (LF or CRLF) as it arrives, holding at
 * most one line: a manifest of millions of lines is never loaded whole, and
 * a line longer than `maxBytes` (a hostile 10 GB line without a newline) is
 * skipped and reported instead of buffered.
 */
export async function* splitLines(
  chunks: AsyncIterable<Uint8Array | string>,
  maxBytes = MAX_LINE_BYTES,
): AsyncGenerator<NumberedLine> {
  let parts: Buffer[] = [];
  let partBytes = 0;
  let overflow = false;
  let number = 0;
  let lineStart = 0;
  let position = 0;
  const emit = (last: Buffer, next: number): NumberedLine => {
    number++;
    const offset = lineStart;
    lineStart = next;
    if (overflow) {
      overflow = false;
      return { number, offset, tooLong: true };
    }
    const whole = parts.length === 0 ? last : Buffer.concat([...parts, last]);
    parts = [];
    partBytes = 0;
    let end = whole.length;
    if (end > 0 && whole[end - 1] === 0x0d) end--;
    return { number, offset, text: whole.toString('utf8', 0, end) };
  };
  const drop = () => {
    overflow = true;
    parts = [];
    partBytes = 0;
  };
  for await (const raw of chunks) {
    const chunk =
      typeof raw === 'string'
        ? Buffer.from(raw)
        : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    let start = 0;
    for (;;) {
      const at = chunk.indexOf(NEWLINE, start);
      if (at === -1) break;
      const piece = chunk.subarray(start, at);
      if (!overflow && partBytes + piece.length > maxBytes) drop();
      yield emit(overflow ? EMPTY : piece, position + at + 1);
      start = at + 1;
    }
    if (start < chunk.length && !overflow) {
      const rest = chunk.subarray(start);
      if (partBytes + rest.length > maxBytes) drop();
      else {
        // Copy: the stream may reuse its buffer.
        parts.push(Buffer.from(rest));
        partBytes += rest.length;
      }
    }
    position += chunk.length;
  }
  if (partBytes > 0 || overflow) yield emit(EMPTY, position);
}
