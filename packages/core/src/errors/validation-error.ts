import { DownloadError } from './download-error.js';
import { ErrorCodes } from './error-codes.js';

/** What a {@link ValidationError} reports. */
export interface ValidationErrorOptions {
  /** `size-mismatch`, `digest-mismatch` or `validation-failed` (custom validators). */
  code?:
    | typeof ErrorCodes.SizeMismatch
    | typeof ErrorCodes.DigestMismatch
    | typeof ErrorCodes.ValidationFailed;
  /** Which check failed: `size`, a digest algorithm such as `sha256`, or a custom validator's name. */
  check: string;
  /** What was expected (a size in bytes or a hex digest). */
  expected: string | number;
  /** What the bytes had. */
  actual: string | number;
  url?: string | URL;
}

/**
 * The bytes are not what was promised. Says which check failed, what was
 * expected and what was found. Not retryable on the same source; a mirror
 * set may try another source.
 */
export class ValidationError extends DownloadError {
  /** Which check failed: `size`, a digest algorithm, or a custom validator's name. */
  readonly check: string;
  /** What was expected. */
  readonly expected: string | number;
  /** What the bytes had. */
  readonly actual: string | number;

  constructor(message: string, options: ValidationErrorOptions) {
    super(message, {
      code: options.code ?? ErrorCodes.ValidationFailed,
      retryable: false,
      details: { check: options.check, expected: options.expected, actual: options.actual },
      ...(options.url === undefined ? {} : { url: options.url }),
    });
    this.name = 'ValidationError';
    this.check = options.check;
    this.expected = options.expected;
    this.actual = options.actual;
  }

  /** True for a `ValidationError` from any copy of `@dl/core`. */
  static override isInstance(value: unknown): value is ValidationError {
    return DownloadError.isInstance(value) && (value as DownloadError).name === 'ValidationError';
  }
}
