import { DownloadError } from '@dl/core';

/** The code every {@link MirrorListError} carries. */
export const MIRRORLIST_INVALID = 'mirrorlist-invalid';

/** What was wrong with a mirror list or metalink. */
export type MirrorListProblem =
  /** Not well-formed XML, or an undefined entity reference. */
  | 'xml-syntax'
  /** A `<!DOCTYPE>` or `<!ENTITY>` declaration: refused outright (entity expansion, external entities). */
  | 'dtd-forbidden'
  /** The document is larger than `maxDocumentBytes`, or nested too deeply. */
  | 'too-large'
  /** Well-formed XML that is not a Metalink 3 or 4 document. */
  | 'not-metalink'
  /** A hash whose length or characters do not fit its algorithm. */
  | 'bad-hash'
  /** A size that is not a whole number of bytes. */
  | 'bad-size'
  /** A file name that would leave the destination folder (`..`, absolute, drive letter, NUL). */
  | 'unsafe-name'
  /** Nothing usable is left once bad entries are dropped. */
  | 'no-mirrors';

/** What a {@link MirrorListError} is built from. */
export interface MirrorListErrorOptions {
  readonly problem: MirrorListProblem;
  /** Where the document came from (redacted), or `inline`. */
  readonly source?: string;
  /** 1-based line of the document the problem is on, when known. */
  readonly line?: number;
  /** 1-based column, when known. */
  readonly column?: number;
  readonly cause?: unknown;
}

/**
 * A mirror list or metalink was malformed, hostile, or left nothing usable.
 * The message names what was wrong and where (line, file entry); `problem`
 * says which check failed. Not retryable: fetching the same document again
 * gives the same answer.
 */
export class MirrorListError extends DownloadError {
  /** Which check failed. */
  readonly problem: MirrorListProblem;
  /** 1-based line of the document, when known. */
  readonly line: number | undefined;
  /** 1-based column, when known. */
  readonly column: number | undefined;

  constructor(message: string, options: MirrorListErrorOptions) {
    const where = [
      options.source === undefined ? undefined : options.source,
      options.line === undefined
        ? undefined
        : `line ${options.line}${options.column === undefined ? '' : `, column ${options.column}`}`,
    ].filter((part) => part !== undefined);
    super(where.length > 0 ? `${message} (${where.join(', ')})` : message, {
      code: MIRRORLIST_INVALID,
      retryable: false,
      ...(options.cause === undefined ? {} : { cause: options.cause }),
      details: {
        problem: options.problem,
        ...(options.source === undefined ? {} : { source: options.source }),
        ...(options.line === undefined ? {} : { line: options.line }),
        ...(options.column === undefined ? {} : { column: options.column }),
      },
    });
    this.name = 'MirrorListError';
    this.problem = options.problem;
    this.line = options.line;
    this.column = options.column;
  }

  /** True for a `MirrorListError` from any copy of `@dl/mirrorlist`. */
  static override isInstance(value: unknown): value is MirrorListError {
    return DownloadError.isInstance(value) && (value as DownloadError).name === 'MirrorListError';
  }
}
