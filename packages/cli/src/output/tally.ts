import type { FinishedRecord } from './finished-record.js';

/** The counts of one `dl get` run, kept as records finish. */
export class Tally {
  readonly startedAt = Date.now();
  /** Entries read from the arguments and the manifest, bad lines included. */
  read = 0;
  /** Every entry read so far declared its size, so `expectedBytes` is the whole. */
  sizesKnown = true;
  expectedBytes = 0;
  /** Nothing more will be read. */
  inputDone = false;
  downloaded = 0;
  skipped = 0;
  /** Files the server said did not change (`--resync`): nothing downloaded. */
  unchanged = 0;
  failed = 0;
  invalid = 0;
  /** Bytes of files downloaded (not skipped). */
  bytes = 0;
  /** Files (downloaded or skipped) that were checked against expected digests. */
  verified = 0;
  /** `SIGINT` or `SIGTERM` when the run was stopped. */
  interrupted: string | undefined;

  /** An entry (or a bad line) was read. */
  noteRead(size: number | undefined): void {
    this.read++;
    if (size === undefined) this.sizesKnown = false;
    else this.expectedBytes += size;
  }

  /**
   * Counts a finished record: `invalid` for a bad line, `verified` when the
   * file was checked against digests the input gave.
   */
  add(record: FinishedRecord, how: { invalid?: boolean; verified?: boolean } = {}): void {
    if (how.invalid) this.invalid++;
    else if (!record.ok) this.failed++;
    else if (record.skipped) this.skipped++;
    else if (record.unchanged) this.unchanged++;
    else {
      this.downloaded++;
      this.bytes += record.size ?? 0;
    }
    if (record.ok && how.verified) this.verified++;
  }

  /** Records finished, whichever way. */
  get done(): number {
    return this.downloaded + this.skipped + this.unchanged + this.failed + this.invalid;
  }

  get ok(): number {
    return this.downloaded + this.skipped + this.unchanged;
  }

  /**
   * The summary as `--json` prints it; `endedAt` (ms) is the end of the run,
   * now when not a number (`JSON.stringify` passes the key, `''`).
   */
  toJSON(endedAt?: number | string): Record<string, unknown> {
    const end = typeof endedAt === 'number' ? endedAt : Date.now();
    return {
      summary: {
        ok: this.ok,
        downloaded: this.downloaded,
        skipped: this.skipped,
        unchanged: this.unchanged,
        failed: this.failed,
        invalid: this.invalid,
        verified: this.verified,
        bytes: this.bytes,
        durationMs: end - this.startedAt,
        ...(this.interrupted === undefined ? {} : { interrupted: this.interrupted }),
      },
    };
  }
}
