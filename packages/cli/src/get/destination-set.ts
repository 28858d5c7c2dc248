/**
 * The destinations a run has seen, to refuse a second line writing to the
 * same file (which would race the first and leave whichever finished last).
 * Paths are kept as two 32-bit hashes (a false match needs both to collide:
 * about one in 10^10 for a million lines) and the line that gave each, in
 * one open-addressing table of 12-byte slots, filled between 40 and 80 %:
 * 15 to 30 bytes a line (3 MB for 200,000 lines), the only state a run keeps
 * for every line it read.
 */
export class DestinationSet {
  // Per slot: high hash, low hash (never 0: a 0 marks a free slot), line.
  #slots = new Uint32Array(1024 * 3);
  #capacity = 1024;
  #size = 0;

  /**
   * Records `path`, first seen at `line` (0 for a command-line URL).
   * Returns the line that already had it, or undefined when it is new.
   */
  add(path: string, line: number): number | undefined {
    // Linear probing stays short up to 80 % full: about 13 probes for a new path at worst.
    if ((this.#size + 1) * 5 > this.#capacity * 4) this.#grow();
    hash(path);
    const high = hashHigh;
    const low = hashLow;
    const slots = this.#slots;
    const mask = this.#capacity - 1;
    for (let slot = (high ^ low) & mask; ; slot = (slot + 1) & mask) {
      const at = slot * 3;
      if (slots[at + 1] === 0) {
        slots[at] = high;
        slots[at + 1] = low;
        slots[at + 2] = line;
        this.#size++;
        return undefined;
      }
      if (slots[at] === high && slots[at + 1] === low) return slots[at + 2];
    }
  }

  /** Bytes the table holds. */
  get byteLength(): number {
    return this.#slots.byteLength;
  }

  #grow(): void {
    const old = this.#slots;
    const capacity = this.#capacity * 2;
    const slots = new Uint32Array(capacity * 3);
    const mask = capacity - 1;
    for (let at = 0; at < old.length; at += 3) {
      const low = old[at + 1]!;
      if (low === 0) continue;
      const high = old[at]!;
      let slot = (high ^ low) & mask;
      while (slots[slot * 3 + 1] !== 0) slot = (slot + 1) & mask;
      slots[slot * 3] = high;
      slots[slot * 3 + 1] = low;
      slots[slot * 3 + 2] = old[at + 2]!;
    }
    this.#slots = slots;
    this.#capacity = capacity;
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
  // Never 0, which marks a free slot: one bit of 64 given up.
  hashLow = (b | 1) >>> 0;
}
