import type { RetryOptions } from '../contracts/retry-options.js';
import { abortError } from '../errors/download-error.js';

/** Retry options with every default filled in. */
export type RetryPolicy = Required<RetryOptions>;

/** The defaults documented on {@link RetryOptions}. */
export function retryPolicy(options: RetryOptions = {}): RetryPolicy {
  return {
    maxAttempts: options.maxAttempts ?? 5,
    baseDelayMs: options.baseDelayMs ?? 200,
    maxDelayMs: options.maxDelayMs ?? 30_000,
    random: options.random ?? Math.random,
  };
}

/**
 * Exponential backoff with full jitter (a uniform delay up to base·2^(n-1),
 * capped), never shorter than the remote's Retry-After hint, never longer
 * than `maxDelayMs`.
 */
export function backoffDelay(
  policy: RetryPolicy,
  failedAttempts: number,
  retryAfterMs?: number,
): number {
  const ceiling = Math.min(
    policy.maxDelayMs,
    policy.baseDelayMs * 2 ** Math.max(0, failedAttempts - 1),
  );
  const jittered = policy.random() * ceiling;
  return Math.min(policy.maxDelayMs, Math.max(jittered, retryAfterMs ?? 0));
}

/** Waits `ms`, or rejects with an abort error as soon as `signal` aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.reject(abortError(signal.reason));
  return new Promise((resolve, reject) => {
    const onAbort = () => {
      clearTimeout(timer);
      reject(abortError(signal?.reason));
    };
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
