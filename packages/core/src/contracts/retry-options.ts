/** When and how a failed attempt is tried again. */
export interface RetryOptions {
  /** Attempts per download, the first included. @default 5 */
  readonly maxAttempts?: number;
  /** Backoff base: the ceiling of the first delay. @default 200 */
  readonly baseDelayMs?: number;
  /** Largest delay between attempts, Retry-After hints included. @default 30000 */
  readonly maxDelayMs?: number;
  /** Source of randomness for full jitter (tests make it deterministic). @default Math.random */
  readonly random?: () => number;
}
