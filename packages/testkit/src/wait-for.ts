import { setTimeout as sleep } from 'node:timers/promises';

/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** How long to keep polling. @default 2000 */
  readonly timeoutMs?: number;
  /** Pause between checks. @default 10 */
  readonly intervalMs?: number;
  /** Text of the error on timeout, or a function building it (called once, at the timeout). */
  readonly message?: string | (() => string);
}

/**
 * Polls `predicate` until it returns true (or a promise of true), then
 * resolves. Rejects after the timeout with the given message (or a generic
 * one), which is how leak checks give resources a moment to settle.
 *
 * @param predicate - Checked at once, then every `intervalMs`.
 * @param timeout - Milliseconds (default 2000), or {@link WaitForOptions}.
 * @param options - More options when `timeout` is a number.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeout: number | WaitForOptions = 2000,
  options: WaitForOptions = {},
): Promise<void> {
  const settings = typeof timeout === 'number' ? { ...options, timeoutMs: timeout } : timeout;
  const timeoutMs = settings.timeoutMs ?? 2000;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      const { message } = settings;
      const text = typeof message === 'function' ? message() : message;
      throw new Error(text ?? `Condition not met within ${timeoutMs} ms`);
    }
    await sleep(settings.intervalMs ?? 10);
  }
}
