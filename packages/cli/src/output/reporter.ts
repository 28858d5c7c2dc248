import type { DownloadStats } from '@dl/core';
import type { CliIo } from '../cli-io.js';
import type { FinishedRecord } from './finished-record.js';
import type { Tally } from './tally.js';
import type { WarningRecord } from './warning-record.js';

/** Where a `dl get` run tells what happens. */
export interface Reporter {
  /** A download finished or was skipped, or (`badLine`) a line could not be used. */
  finished(record: FinishedRecord, badLine?: boolean): void;
  /** A remark for the user that is not about one file. */
  notice(message: string): void;
  /** The run is over: stop live output, print the summary. Called once. */
  close(): void;
}

/** A {@link Reporter} that also prints warnings about the run (once each). */
export interface WarningReporter extends Reporter {
  warning(record: WarningRecord): void;
}

/** What every reporter is built from. */
export interface ReporterContext {
  readonly io: CliIo;
  readonly tally: Tally;
  /** The factory's live figures (bytes, rate, transfers in flight). */
  readonly stats: () => DownloadStats;
  /** Print failures and the summary only. */
  readonly quiet: boolean;
}
