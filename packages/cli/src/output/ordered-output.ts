import type { Writable } from 'node:stream';

/** Text gathered before it is written: past this many characters it goes at once. */
const FLUSH_AT = 64 * 1024;

/**
 * Gathers what a run prints and writes it in batches, once per turn of the
 * event loop, in the order it was printed across both streams. A line per
 * finished file costs a `write` system call when stdout is a file or a pipe
 * (tens of microseconds each, thousands a second); batched, it costs a string
 * append. Text for one stream is written out before text for the other is
 * gathered, so `dl get > log 2>&1` reads exactly as it did line by line.
 */
export class OrderedOutput {
  #stream: Writable | undefined;
  #text = '';
  #scheduled = false;
  readonly #onTurn = () => {
    this.#scheduled = false;
    this.flush();
  };

  /** Prints `text` on `stream` (soon, and before anything printed after it). */
  write(stream: Writable, text: string): void {
    if (stream !== this.#stream) {
      this.flush();
      this.#stream = stream;
    }
    this.#text += text;
    if (this.#text.length >= FLUSH_AT) this.flush();
    else if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onTurn);
    }
  }

  /** Writes out everything gathered. */
  flush(): void {
    if (this.#text === '' || this.#stream === undefined) return;
    const text = this.#text;
    this.#text = '';
    this.#stream.write(text);
  }
}
