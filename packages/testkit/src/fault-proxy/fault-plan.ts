import type { FaultChannel, FaultKind, FaultRule, RandomFaults } from './fault-proxy-options.js';

/** A fault due at a byte offset of one connection. */
export interface PlannedFault {
  readonly kind: FaultKind;
  readonly at: number;
  readonly stallMs: number;
}

const KINDS: readonly FaultKind[] = ['reset', 'stall', 'truncate', 'corrupt'];
const DEFAULT_STALL_MS = 60_000;

/** mulberry32: a small seeded generator, good enough to spread faults. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The faults of one connection in offset order: its explicit rules merged
 * with a random process drawn lazily from the connection's own seed.
 */
export class FaultPlan {
  readonly #rules: PlannedFault[];
  readonly #random: RandomFaults | undefined;
  readonly #next: () => number;
  readonly #weights: [FaultKind, number][];
  readonly #totalWeight: number;
  #randomFault: PlannedFault | undefined;

  constructor(
    rules: readonly FaultRule[],
    channel: FaultChannel,
    index: number,
    random: RandomFaults | undefined,
    seed: number,
  ) {
    this.#rules = rules
      .filter(
        (rule) =>
          (rule.channel ?? 'main') === channel &&
          (rule.connection === undefined || rule.connection === index),
      )
      .map((rule) => ({
        kind: rule.kind,
        at: rule.at,
        stallMs: rule.stallMs ?? DEFAULT_STALL_MS,
      }))
      .sort((a, b) => a.at - b.at);
    this.#random = random;
    this.#next = seededRandom(seed);
    this.#weights = KINDS.map((kind): [FaultKind, number] => [
      kind,
      random?.kinds === undefined ? 1 : (random.kinds[kind] ?? 0),
    ]).filter(([, weight]) => weight > 0);
    this.#totalWeight = this.#weights.reduce((sum, [, weight]) => sum + weight, 0);
    if (random !== undefined && !(random.meanBytesBetweenFaults > 0)) {
      throw new RangeError('meanBytesBetweenFaults must be a positive number');
    }
    this.#randomFault = this.#draw(0);
  }

  /** The next fault due, if any. */
  peek(): PlannedFault | undefined {
    const rule = this.#rules[0];
    const random = this.#randomFault;
    if (rule === undefined) return random;
    if (random === undefined) return rule;
    return rule.at <= random.at ? rule : random;
  }

  /** Removes the fault {@link peek} returned. */
  take(): PlannedFault | undefined {
    const fault = this.peek();
    if (fault === undefined) return undefined;
    if (fault === this.#rules[0]) this.#rules.shift();
    else this.#randomFault = this.#draw(fault.at + 1);
    return fault;
  }

  #draw(from: number): PlannedFault | undefined {
    const random = this.#random;
    if (random === undefined || this.#totalWeight === 0) return undefined;
    const gap = Math.floor(-Math.log(1 - this.#next()) * random.meanBytesBetweenFaults);
    let pick = this.#next() * this.#totalWeight;
    let kind = this.#weights[0]![0];
    for (const [candidate, weight] of this.#weights) {
      kind = candidate;
      pick -= weight;
      if (pick < 0) break;
    }
    return { kind, at: from + gap, stallMs: random.stallMs ?? DEFAULT_STALL_MS };
  }
}
