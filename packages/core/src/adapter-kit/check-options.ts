import { DownloadError } from '../errors/download-error.js';
import { ErrorCodes } from '../errors/error-codes.js';

/** What {@link checkOptions} checks in an adapter's options. */
export interface OptionRules<O extends object> {
  /** Numeric options and their minimum: each, when set, must be a finite number at least that. */
  readonly numbers?: { readonly [K in keyof O]?: number };
  /** Options that, when set, must be one of the listed values. */
  readonly oneOf?: { readonly [K in keyof O]?: readonly O[K][] };
  /**
   * Every option the adapter knows, each `true` (a record, so that the
   * compiler asks for a new option to be listed); any other key is an error:
   * a typo must not be ignored silently.
   */
  readonly known?: { readonly [K in keyof O]-?: true };
}

/**
 * Checks an adapter's options when the adapter is created, so that a wrong
 * value fails at once (and names the adapter and the option) instead of
 * surfacing as a strange failure in the middle of a download. Throws an
 * `invalid-request` `DownloadError` with `details.option`.
 */
export function checkOptions<O extends object>(
  adapter: string,
  options: O,
  rules: OptionRules<O>,
): void {
  const values = options as Record<string, unknown>;
  if (rules.known !== undefined) {
    for (const key of Object.keys(values)) {
      if (!Object.hasOwn(rules.known, key) && values[key] !== undefined) {
        throw invalid(adapter, key, `${adapter}: unknown option ${key}`);
      }
    }
  }
  for (const [key, min] of Object.entries(rules.numbers ?? {}) as [string, number][]) {
    const value = values[key];
    if (
      value !== undefined &&
      (typeof value !== 'number' || !Number.isFinite(value) || value < min)
    ) {
      throw invalid(adapter, key, `${adapter} option ${key} must be a number >= ${min}`);
    }
  }
  for (const [key, allowed] of Object.entries(rules.oneOf ?? {}) as [string, unknown[]][]) {
    const value = values[key];
    if (value !== undefined && !allowed.includes(value)) {
      throw invalid(adapter, key, `${adapter} option ${key} must be ${listOf(allowed)}`);
    }
  }
}

function listOf(values: readonly unknown[]): string {
  const shown = values.map((value) => (typeof value === 'string' ? `'${value}'` : String(value)));
  return shown.length < 2
    ? (shown[0] ?? 'unset')
    : `${shown.slice(0, -1).join(', ')} or ${shown.at(-1)}`;
}

function invalid(adapter: string, option: string, message: string): DownloadError {
  return new DownloadError(message, {
    code: ErrorCodes.InvalidRequest,
    details: { adapter, option },
  });
}
