/** What travels with each request through the factory and back on its outcome. */
export interface EntryContext {
  /** The manifest line, when the entry came from one. */
  readonly line?: number;
  /** The destination, as reported. */
  readonly path: string;
  /** The input gave digests, so a success means the bytes were verified. */
  readonly verified: boolean;
}
