import { InvalidArgumentError } from 'commander';

/** A whole number ≥ `min`, for commander options. */
export function wholeNumber(min: number): (value: string) => number {
  return (value) => {
    const n = Number(value);
    if (!/^\d+$/.test(value.trim()) || !Number.isSafeInteger(n) || n < min) {
      throw new InvalidArgumentError(`expected a whole number ≥ ${min}, got "${value}"`);
    }
    return n;
  };
}

/** Seconds (fractions allowed, 0 allowed) turned into milliseconds. */
export function seconds(value: string): number {
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0) {
    throw new InvalidArgumentError(`expected a number of seconds ≥ 0, got "${value}"`);
  }
  return Math.round(n * 1000);
}

const RATE_UNITS: Readonly<Record<string, number>> = { '': 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3 };

/**
 * A transfer rate in bytes per second: plain bytes or a number with a
 * 1024-based suffix as curl and wget read it (`500K` = 512,000, `2M` =
 * 2,097,152, `1.5M`, `1G`).
 */
export function byteRate(value: string): number {
  const match = /^(\d+(?:\.\d+)?)\s*([kmg]?)$/i.exec(value.trim());
  const n = match === null ? NaN : Number(match[1]) * RATE_UNITS[match[2]!.toLowerCase()]!;
  if (!Number.isFinite(n) || n < 1) {
    throw new InvalidArgumentError(
      `expected bytes per second ≥ 1 such as 500K, 2M or 1.5M (1024-based), got "${value}"`,
    );
  }
  return Math.round(n);
}

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
