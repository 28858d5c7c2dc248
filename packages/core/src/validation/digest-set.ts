import { createHash, type Hash } from 'node:crypto';
import type { DigestAlgorithm, Digests } from '../contracts/digests.js';

/**
 * Computes several digests in one pass. The hash state lives across resumed
 * attempts, so bytes are never read twice; `reset` starts over.
 */
export class DigestSet {
  #hashes = new Map<DigestAlgorithm, Hash>();
  #result: Digests | undefined;

  constructor(private readonly algorithms: ReadonlySet<DigestAlgorithm>) {
    this.reset();
  }

  has(algorithm: DigestAlgorithm): boolean {
    return this.algorithms.has(algorithm);
  }

  get size(): number {
    return this.algorithms.size;
  }

  update(chunk: Uint8Array): void {
    for (const hash of this.#hashes.values()) hash.update(chunk);
  }

  /** The hex digests; computed once, on the first call. */
  digest(): Digests {
    if (this.#result === undefined) {
      const out: Digests = {};
      for (const [algorithm, hash] of this.#hashes) out[algorithm] = hash.digest('hex');
      this.#result = out;
    }
    return this.#result;
  }

  reset(): void {
    this.#result = undefined;
    this.#hashes.clear();
    for (const algorithm of this.algorithms) this.#hashes.set(algorithm, createHash(algorithm));
  }
}
