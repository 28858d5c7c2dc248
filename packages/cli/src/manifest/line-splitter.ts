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
const RETURN = 0x0d;
const EMPTY = Buffer.alloc(0);

/**
 * Splits chunks into lines (LF or CRLF) synchronously, holding at most one
 * unfinished line: a line longer than `maxBytes` (a hostile 10 GB line
 * without a newline) is dropped and reported instead of buffered.
 *
 * Feed a chunk, then call {@link LineSplitter.next} until it returns false;
 * after the last chunk, {@link LineSplitter.end}. The current line is read
 * from `number`, `offset` and `text` (undefined when too long): one
 * splitter serves millions of lines without an object per line, which is
 * what a manifest reader in a hot loop wants.
 */
export class LineSplitter {
  /** Number of the current line, from 1. */
  number = 0;
  /** Byte offset of the current line's first byte in the stream. */
  offset = 0;
  /** The current line without its line end, or undefined when it was longer than the limit. */
  text: string | undefined;

  readonly #maxBytes: number;
  #chunk: Buffer = EMPTY;
  #start = 0;
  /** Stream offset of `#chunk[0]`. */
  #position = 0;
  #lineStart = 0;
  // The unfinished line's earlier bytes, copied (the stream may reuse its buffers).
  #parts: Buffer[] = [];
  #partBytes = 0;
  #overflow = false;

  constructor(maxBytes = MAX_LINE_BYTES) {
    this.#maxBytes = maxBytes;
  }

  /** Takes the next chunk; call after {@link next} returned false for the previous one. */
  feed(raw: Uint8Array | string): void {
    this.#position += this.#chunk.length;
    this.#chunk =
      typeof raw === 'string'
        ? Buffer.from(raw)
        : Buffer.isBuffer(raw)
          ? raw
          : Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength);
    this.#start = 0;
  }

  /** Moves to the next complete line of the fed chunks; false when the chunk is used up. */
  next(): boolean {
    const chunk = this.#chunk;
    const start = this.#start;
    if (start >= chunk.length) return false;
    const at = chunk.indexOf(NEWLINE, start);
    if (at === -1) {
      this.#start = chunk.length;
      if (this.#overflow) return false;
      if (this.#partBytes + chunk.length - start > this.#maxBytes) this.#drop();
      else {
        this.#parts.push(Buffer.from(chunk.subarray(start)));
        this.#partBytes += chunk.length - start;
      }
      return false;
    }
    this.#start = at + 1;
    if (!this.#overflow && this.#partBytes + at - start > this.#maxBytes) this.#drop();
    this.#emit(chunk, start, at, this.#position + at + 1);
    return true;
  }

  /** Moves to the unfinished last line (no final newline), if any; call once after the last chunk. */
  end(): boolean {
    if (this.#partBytes === 0 && !this.#overflow) return false;
    this.#emit(EMPTY, 0, 0, this.#position + this.#chunk.length);
    return true;
  }

  #emit(chunk: Buffer, start: number, end: number, next: number): void {
    this.number++;
    this.offset = this.#lineStart;
    this.#lineStart = next;
    if (this.#overflow) {
      this.#overflow = false;
      this.text = undefined;
      return;
    }
    if (this.#parts.length > 0) {
      this.#parts.push(chunk.subarray(start, end));
      chunk = Buffer.concat(this.#parts);
      start = 0;
      end = chunk.length;
      this.#parts = [];
      this.#partBytes = 0;
    }
    if (end > start && chunk[end - 1] === RETURN) end--;
    this.text = chunk.toString('utf8', start, end);
  }

  #drop(): void {
    this.#overflow = true;
    this.#parts = [];
    this.#partBytes = 0;
  }
}

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
  const lines = new LineSplitter(maxBytes);
  for await (const chunk of chunks) {
    lines.feed(chunk);
    while (lines.next()) yield numbered(lines);
  }
  if (lines.end()) yield numbered(lines);
}

function numbered({ number, offset, text }: LineSplitter): NumberedLine {
  return text === undefined ? { number, offset, tooLong: true } : { number, offset, text };
}
