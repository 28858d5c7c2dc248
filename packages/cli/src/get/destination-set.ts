/**
 * The destinations a run has seen, to refuse a second line writing to the
 * same file (which would race the first and leave whichever finished last).
 * Paths are kept as two 32-bit hashes (a false match needs both to collide:
 * about one in 10^10 for a million lines) in an open-addressing table of
 * typed arrays, 24 bytes a path at most, so a manifest of millions of lines
 * stays within a few megabytes.
 */
export class DestinationSet {
  #high = new Uint32Array(1024);
  #low = new Uint32Array(1024);
  #lines = new Uint32Array(1024);
  #used = new Uint8Array(1024);
  #size = 0;

  /**
   * Records `path`, first seen at `line` (0 for a command-line URL).
   * Returns the line that already had it, or undefined when it is new.
   */
  add(path: string, line: number): number | undefined {
    if ((this.#size + 1) * 2 > this.#used.length) this.#grow();
    hash(path);
    const high = hashHigh;
    const low = hashLow;
    const mask = this.#used.length - 1;
    for (let slot = (high ^ low) & mask; ; slot = (slot + 1) & mask) {
      if (this.#used[slot] === 0) {
        this.#used[slot] = 1;
        this.#high[slot] = high;
        this.#low[slot] = low;
        this.#lines[slot] = line;
        this.#size++;
        return undefined;
      }
      if (this.#high[slot] === high && this.#low[slot] === low) return this.#lines[slot];
    }
  }

  #grow(): void {
    const { length } = this.#used;
    const [high, low, lines, used] = [this.#high, this.#low, this.#lines, this.#used];
    this.#high = new Uint32Array(length * 2);
    this.#low = new Uint32Array(length * 2);
    this.#lines = new Uint32Array(length * 2);
    this.#used = new Uint8Array(length * 2);
    const mask = length * 2 - 1;
    for (let i = 0; i < length; i++) {
      if (used[i] === 0) continue;
      let slot = (high[i]! ^ low[i]!) & mask;
      while (this.#used[slot] !== 0) slot = (slot + 1) & mask;
      this.#used[slot] = 1;
      this.#high[slot] = high[i]!;
      this.#low[slot] = low[i]!;
      this.#lines[slot] = lines[i]!;
    }
  }
}

// The two hashes of the last path hashed: module state, so no array per path.
let hashHigh = 0;
let hashLow = 0;

/** FNV-1a and a multiply-rotate hash of the UTF-16 code units, each 32 bits, into `hashHigh`/`hashLow`. */
function hash(text: string): void {
  let a = 0x811c9dc5;
  let b = 0x9e3779b9 ^ text.length;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul((b << 5) | (b >>> 27), 0x85ebca6b) ^ c;
  }
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 13;
  hashHigh = a >>> 0;
  hashLow = b >>> 0;
}
