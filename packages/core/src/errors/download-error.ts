import { redactText, redactUrl } from '../util/redact.js';
import { ErrorCodes, type ErrorCode } from './error-codes.js';

const brand = Symbol.for('dl.error');

/** What a {@link DownloadError} is built from. */
export interface DownloadErrorOptions {
  /** A stable code from {@link ErrorCodes} (or an adapter's own). */
  code: ErrorCode;
  /** Whether another attempt at the same source may succeed. Defaults to `false`. */
  retryable?: boolean;
  /** The underlying error. Its message is redacted before it is kept. */
  cause?: unknown;
  /** The URL concerned; stored without credentials. */
  url?: string | URL;
  /** A hint from the remote (Retry-After) for when to try again, in milliseconds. */
  retryAfterMs?: number;
  /** Structured, secret-free facts (expected and actual values, reply codes, per-mirror attempts). */
  details?: Record<string, unknown>;
}

/**
 * The one error type of `@dl`. Every failure a caller sees is a `DownloadError`
 * (or a subclass) with a stable `code` and a `retryable` flag. Messages, the
 * `url`, `toJSON()` and the stack never contain credentials: URLs are
 * redacted on the way in and the cause is replaced by a redacted copy.
 *
 * Use {@link DownloadError.isInstance} rather than `instanceof`: it works
 * across duplicate copies of `@dl/core` in one process.
 */
export class DownloadError extends Error {
  /** Stable, documented code (see {@link ErrorCodes}). */
  readonly code: ErrorCode;
  /** Whether another attempt at the same source may succeed. */
  readonly retryable: boolean;
  /** The URL concerned, without credentials. */
  readonly url: string | undefined;
  /** The remote's hint for when to retry, in milliseconds. */
  readonly retryAfterMs: number | undefined;
  /** Structured, secret-free facts about the failure. */
  readonly details: Readonly<Record<string, unknown>>;
  private readonly [brand] = true;

  constructor(message: string, options: DownloadErrorOptions) {
    super(redactText(message), { cause: sanitizeCause(options.cause) });
    this.name = 'DownloadError';
    this.code = options.code;
    this.retryable = options.retryable ?? false;
    this.url = options.url === undefined ? undefined : redactUrl(options.url);
    this.retryAfterMs = options.retryAfterMs;
    this.details = options.details ?? {};
  }

  /** True for any `DownloadError` from any copy of `@dl/core`. */
  static isInstance(value: unknown): value is DownloadError {
    return (
      typeof value === 'object' &&
      value !== null &&
      (value as Record<symbol, unknown>)[brand] === true
    );
  }

  /** A plain, secret-free representation for logs and `--json` output. */
  toJSON(): Record<string, unknown> {
    const cause = this.cause as { message?: string; code?: unknown } | undefined;
    return {
      name: this.name,
      code: this.code,
      message: this.message,
      retryable: this.retryable,
      ...(this.url === undefined ? {} : { url: this.url }),
      ...(this.retryAfterMs === undefined ? {} : { retryAfterMs: this.retryAfterMs }),
      ...(Object.keys(this.details).length ? { details: this.details } : {}),
      ...(cause?.message === undefined
        ? {}
        : {
            cause: {
              message: cause.message,
              ...(cause.code === undefined ? {} : { code: cause.code }),
            },
          }),
    };
  }
}

/**
 * A copy of an underlying error that is safe to keep: message and stack
 * redacted, `code`-like properties kept. The original may carry URLs with
 * credentials or request options with headers, so it is never kept itself.
 */
function sanitizeCause(cause: unknown): unknown {
  if (cause === undefined || DownloadError.isInstance(cause)) return cause;
  if (!(cause instanceof Error)) return new Error(redactText(String(cause)));
  const copy = new Error(redactText(cause.message));
  copy.name = cause.name;
  copy.stack = cause.stack === undefined ? undefined : redactText(cause.stack);
  for (const key of ['code', 'errno', 'syscall', 'status', 'statusCode']) {
    const value = (cause as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number') {
      (copy as unknown as Record<string, unknown>)[key] = value;
    }
  }
  return copy;
}

/** The error a cancelled operation rejects with. */
export function abortError(reason?: unknown, url?: string | URL): DownloadError {
  if (DownloadError.isInstance(reason)) return reason;
  return new DownloadError('The download was aborted', {
    code: ErrorCodes.Aborted,
    cause: reason,
    ...(url === undefined ? {} : { url }),
  });
}

/**
 * Turns anything thrown into a `DownloadError`. Errors from Node's networking
 * (ECONNRESET, ECONNREFUSED, ETIMEDOUT, …) become retryable connection errors;
 * anything else unknown becomes a non-retryable `internal` error.
 */
export function toDownloadError(error: unknown, url?: string | URL): DownloadError {
  if (DownloadError.isInstance(error)) return error;
  const code = (error as { code?: unknown } | undefined)?.code;
  const name = (error as { name?: unknown } | undefined)?.name;
  const at = url === undefined ? {} : { url };
  if (name === 'AbortError') return abortError(error, url);
  if (typeof code === 'string' && CONNECTION_CODES.has(code)) {
    return new DownloadError(`Connection failed (${code})`, {
      code: ErrorCodes.ConnectionFailed,
      retryable: true,
      cause: error,
      ...at,
    });
  }
  if (typeof code === 'string' && TIMEOUT_CODES.has(code)) {
    return new DownloadError(`Timed out (${code})`, {
      code: ErrorCodes.Timeout,
      retryable: true,
      cause: error,
      ...at,
    });
  }
  const message = error instanceof Error ? error.message : String(error);
  return new DownloadError(`Unexpected failure: ${message}`, {
    code: ErrorCodes.Internal,
    cause: error,
    ...at,
  });
}

const CONNECTION_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'ENOTFOUND',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
  'ERR_STREAM_PREMATURE_CLOSE',
  'ERR_SSL_WRONG_VERSION_NUMBER',
]);
const TIMEOUT_CODES = new Set([
  'ETIMEDOUT',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
]);
