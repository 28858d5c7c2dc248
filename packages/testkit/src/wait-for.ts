import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `predicate` until it returns true (or a promise of true), then
 * resolves. Rejects after `timeoutMs` with `message` (or a generic one),
 * which is how leak checks give resources a moment to settle.
 *
 * @param predicate - Checked at once, then every `intervalMs`.
 * @param timeoutMs - How long to keep polling. @default 2000
 * @param options.intervalMs - Pause between checks. @default 10
 * @param options.message - Text of the error on timeout, or a function building it.
 */
export async function waitFor(
  predicate: () => boolean | Promise<boolean>,
  timeoutMs = 2000,
  options: { intervalMs?: number; message?: string | (() => string) } = {},
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await predicate()) return;
    if (Date.now() >= deadline) {
      const { message } = options;
      const text = typeof message === 'function' ? message() : message;
      throw new Error(text ?? `Condition not met within ${timeoutMs} ms`);
    }
    await sleep(options.intervalMs ?? 10);
  }
}
