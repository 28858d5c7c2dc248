/** Options of {@link dataAdapter}. Plain data, so `toJSON()` returns them as they are. */
export interface DataAdapterOptions {
  /** Bytes per body chunk handed to the core. @default 65536 */
  readonly chunkSize?: number;
}
