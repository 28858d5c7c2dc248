import { redactText } from '../util/redact.js';

/**
 * A copy of `error` that is safe to keep as a `DownloadError`'s cause or to
 * log: the `secrets` (and URL userinfo, credential headers: see `redactText`)
 * removed from its message and stack. Client libraries echo what they were
 * given (a password in an auth failure, a key in a parse error), so their
 * errors are never kept as they are. The name and the listed properties
 * (string or number values only) are copied: error mapping reads them.
 */
export function redactedError(
  error: unknown,
  secrets: readonly string[],
  properties: readonly string[] = ['code'],
): Error {
  if (!(error instanceof Error)) return new Error(redactText(String(error), secrets));
  const copy = new Error(redactText(error.message, secrets));
  copy.name = error.name;
  copy.stack = redactText(error.stack ?? '', secrets);
  for (const key of properties) {
    const value = (error as unknown as Record<string, unknown>)[key];
    if (typeof value === 'string' || typeof value === 'number')
      (copy as unknown as Record<string, unknown>)[key] = value;
  }
  return copy;
}
