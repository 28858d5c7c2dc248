import type { TransferOptions } from '../transfer/transfer-options.js';

/** Everything `dl get` accepts, as commander hands it over. */
export interface GetOptions extends TransferOptions {
  readonly input?: string;
  readonly output: string;
  readonly sha256?: string;
  readonly metalink?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly strict: boolean;
  readonly progress: boolean;
}
