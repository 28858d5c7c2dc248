import { DownloadError, ErrorCodes, redactUrl } from '@dl/core';

/** How redirects are followed. */
export interface HttpRedirectOptions {
  /** Redirects followed per attempt; more is a `redirect-refused` error. 0 refuses every redirect. @default 10 */
  readonly max?: number;
  /** Follow a redirect from https to plain http. @default false */
  readonly allowDowngrade?: boolean;
}

/** Statuses that carry a `Location` to follow (every request is a GET). */
export const REDIRECT_STATUSES: ReadonlySet<number> = new Set([301, 302, 303, 307, 308]);

/**
 * Where a redirect leads, or a `redirect-refused` error when it exceeds the
 * bound, loops, leaves http(s), or downgrades https to http unless allowed.
 * The target's userinfo and fragment are dropped: a `Location` is untrusted.
 */
export function followRedirect(
  from: URL,
  location: string,
  visited: Set<string>,
  options: HttpRedirectOptions | undefined,
): URL {
  const max = options?.max ?? 10;
  const refuse = (message: string, details: Record<string, unknown> = {}) =>
    new DownloadError(message, { code: ErrorCodes.RedirectRefused, url: from, details });
  if (visited.size > max) throw refuse(`More than ${max} redirects`, { max });
  let to: URL;
  try {
    to = new URL(location, from);
  } catch {
    throw refuse('The redirect target is not a valid URL');
  }
  to.username = '';
  to.password = '';
  to.hash = '';
  if (to.protocol !== 'http:' && to.protocol !== 'https:') {
    throw refuse(`A redirect to the ${to.protocol} scheme is not followed`, {
      location: redactUrl(to),
    });
  }
  if (from.protocol === 'https:' && to.protocol === 'http:' && options?.allowDowngrade !== true) {
    throw refuse('A redirect from https to http is refused (redirects.allowDowngrade is off)', {
      location: redactUrl(to),
    });
  }
  if (visited.has(to.href)) throw refuse('The redirects loop', { location: redactUrl(to) });
  visited.add(to.href);
  return to;
}
