/**
 * What must happen when an attempt is over, keyed by the attempt's signal.
 * A successful attempt ends without aborting its signal (an abort dispatches
 * an event through every listener: a few µs a file); the lifecycle guard
 * registers here instead, so the attempt loop can release what a wrapper
 * left behind (an inner body it did not read to the end) on every ending.
 */
const ends = new WeakMap<AbortSignal, (() => void)[]>();

/** Runs `fn` once when the attempt that owns `signal` is over. */
export function onAttemptEnd(signal: AbortSignal, fn: () => void): void {
  const list = ends.get(signal);
  if (list === undefined) ends.set(signal, [fn]);
  else list.push(fn);
}

/** Called by the attempt loop as an attempt ends, successful or not. */
export function endAttempt(signal: AbortSignal): void {
  const list = ends.get(signal);
  if (list === undefined) return;
  ends.delete(signal);
  for (const fn of list) fn();
}
