import type { TransferOptions } from '../transfer/transfer-options.js';

/** Everything `dl serve` accepts, as commander hands it over. */
export interface ServeOptions extends TransferOptions {
  readonly catalog: string;
  readonly port: number;
  readonly host: string;
  readonly cache?: string;
  readonly grace: number;
  /** Upstream downloads at once; `total` when absent. */
  readonly upstream?: number;
  readonly upstreamQueue: number;
  /** Milliseconds. */
  readonly upstreamWait: number;
  readonly strict: boolean;
}
