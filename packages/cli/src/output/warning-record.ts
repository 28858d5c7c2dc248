import type { RefusedEntries } from '@dl/mirrorlist';

/**
 * A remark about the run that is not about one file, printed once: in plain
 * output a `dl: warning: …` line on stderr, with `--json` a
 * `{"warning": {...}}` line on stdout.
 */
export type WarningRecord = RefusedWarning | UnverifiedSignatureWarning;

/** Entries of a remote mirror list or metalink were refused; the others are used. */
export interface RefusedWarning {
  /** Stable: `mirror-entries-refused` (entries of a remote list or metalink were not used). */
  readonly code: 'mirror-entries-refused';
  readonly message: string;
  /** The mirror set (`mirrors` for `--mirrorlist`, `metalink` for `--metalink`). */
  readonly set: string;
  /** The list's URL, redacted. */
  readonly list: string;
  /** How many entries were refused. */
  readonly count: number;
  /** The first ten, each with its reason (and line, in a plain list). */
  readonly refused: RefusedEntries['refused'];
}

/** A `--checksums` list was PGP clear-signed: its text was read, its signature not verified. */
export interface UnverifiedSignatureWarning {
  readonly code: 'signature-not-verified';
  readonly message: string;
  /** The list's URL, redacted. */
  readonly list: string;
}

/** The warning for entries of a remote list that were refused. */
export function refusedWarning(refusal: RefusedEntries): RefusedWarning {
  const first = refusal.refused[0];
  const entries = refusal.count === 1 ? '1 entry' : `${refusal.count} entries`;
  const example =
    first === undefined
      ? ''
      : ` (${first.entry}: ${first.reason}${refusal.count > 1 ? '; …' : ''})`;
  return {
    code: 'mirror-entries-refused',
    message: `${entries} of ${refusal.list} refused${example}; the others are used`,
    set: refusal.set,
    list: refusal.list,
    count: refusal.count,
    refused: refusal.refused,
  };
}

/** The plain line of a warning, without the `dl: ` prefix. */
export function warningText(record: WarningRecord): string {
  return `warning: ${record.message}`;
}

/** Holds warnings that arrive before the reporter exists (a metalink is read first). */
export class PendingWarnings {
  #held: WarningRecord[] | undefined = [];
  #print: ((record: WarningRecord) => void) | undefined;

  readonly add = (record: WarningRecord): void => {
    if (this.#print !== undefined) this.#print(record);
    else this.#held?.push(record);
  };

  /** Prints what was held, then every later warning at once. */
  attach(print: (record: WarningRecord) => void): void {
    this.#print = print;
    const held = this.#held ?? [];
    this.#held = undefined;
    for (const record of held) print(record);
  }
}
