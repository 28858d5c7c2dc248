import type { TransferOptions } from '../transfer/transfer-options.js';

/** Everything `dl get` accepts, as commander hands it over. */
export interface GetOptions extends TransferOptions {
  readonly input?: string;
  /** `-o DIR`; undefined when not given (the working folder). */
  readonly output?: string;
  /** `-O FILE`: where the single URL given goes, relative to the working folder. */
  readonly outputFile?: string;
  readonly sha256?: string;
  readonly metalink?: string;
  /** `--checksums FILE|URL`: a SHA256SUMS-style list to check or (with a base) download. */
  readonly checksums?: string;
  /** `--from BASEURL`: where the files of `--checksums` are downloaded from. */
  readonly from?: string;
  readonly json: boolean;
  readonly quiet: boolean;
  readonly strict: boolean;
  /** `--resync`: revalidate files without digests from the validators stored when they were downloaded. */
  readonly resync: boolean;
  readonly progress: boolean;
  /** `--queue redis://…`: enqueue on a fleet of `dl worker`s instead of downloading here. */
  readonly queue?: string;
  /** `--split K`: connections one large file may be split over. */
  readonly split: number;
  /** `--name Q`: the fleet's queue. */
  readonly name?: string;
}
