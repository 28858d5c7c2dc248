/** How many transfers run at once. */
export interface Limits {
  /** Transfers at once across all hosts. @default 16 */
  readonly total?: number;
  /**
   * Transfers (and connections) at once to one origin (scheme, host, port),
   * across every adapter. A hard cap: the server never sees more. @default 8
   */
  readonly perHost?: number;
  /**
   * Bytes per second for all transfers together, shared among the transfers
   * in flight; reads pause when it is reached (the socket's backpressure
   * slows the sender, memory stays bounded). @default no cap
   */
  readonly rate?: number;
  /** Bytes per second per origin, shared among that origin's transfers. @default no cap */
  readonly ratePerHost?: number;
}
