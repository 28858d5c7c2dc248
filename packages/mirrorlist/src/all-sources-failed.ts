import { DownloadError, ErrorCodes } from '@dl/core';
import type { FileAttempts } from './file-attempts.js';

/** How many mirrors the message names before it says "and N more" (details keep them all). */
const NAMED_IN_MESSAGE = 12;

/**
 * The error that ends a file when no mirror could serve it: the message and
 * `details.attempts` say what happened on each mirror tried (URL without
 * credentials, error code). Retryable while some mirror failed only in a
 * way that may pass (connection, timeout, 5xx), so the core backs off and
 * calls again within the file's retry budget.
 */
export function allSourcesFailed(
  set: string,
  path: string,
  url: URL,
  file: FileAttempts,
  retryable: boolean,
  retryAfterMs: number | undefined,
  cause: unknown,
  how: { readonly budgetSpent?: boolean } = {},
): DownloadError {
  const byMirror = new Map<string, { codes: string[]; url: string }>();
  for (const attempt of file.attempts) {
    const entry = byMirror.get(attempt.url) ?? { codes: [], url: attempt.url };
    entry.codes.push(attempt.code);
    byMirror.set(attempt.url, entry);
  }
  const named = [...byMirror.values()].slice(0, NAMED_IN_MESSAGE).map((entry) => {
    const counts = new Map<string, number>();
    for (const code of entry.codes) counts.set(code, (counts.get(code) ?? 0) + 1);
    const codes = [...counts].map(([code, n]) => (n > 1 ? `${code} ×${n}` : code)).join(', ');
    return `${entry.url} (${codes})`;
  });
  const more = byMirror.size - named.length;
  const listed = named.join('; ') + (more > 0 ? `; and ${more} more` : '');
  const message =
    byMirror.size === 0
      ? `No mirror of set "${set}" can serve ${path}`
      : how.budgetSpent
        ? `The attempts at ${path} ran out on the mirrors of set "${set}": ${listed}`
        : `Every mirror of set "${set}" failed for ${path}: ${listed}`;
  return new DownloadError(message, {
    code: ErrorCodes.AllSourcesFailed,
    retryable,
    url,
    cause,
    ...(retryAfterMs === undefined ? {} : { retryAfterMs }),
    details: {
      set,
      path,
      attempts: file.attempts.map((a) => ({ url: a.url, code: a.code, attempt: a.attempt })),
      ...(file.failures > file.attempts.length
        ? { unrecorded: file.failures - file.attempts.length }
        : {}),
    },
  });
}
