/** How many transfers run at once. */
export interface Limits {
  /** Transfers at once across all hosts. @default 16 */
  readonly total?: number;
  /**
   * Transfers (and connections) at once to one origin (scheme, host, port),
   * across every adapter. A hard cap: the server never sees more. @default 8
   */
  readonly perHost?: number;
}
