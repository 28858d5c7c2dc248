/** Options of {@link memoryAdapter}. */
export interface MemoryAdapterOptions {
  /** Bytes per body chunk. @default 16384 */
  readonly chunkSize?: number;
  /** URL scheme served. @default 'mem' */
  readonly scheme?: string;
  /** Declare (and honour) resume from an offset. @default true */
  readonly resume?: boolean;
}
