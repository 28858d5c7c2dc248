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

/** Collects a repeatable option into a list. */
export function collect(value: string, previous: readonly string[] = []): string[] {
  return [...previous, value];
}
