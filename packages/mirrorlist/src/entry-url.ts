import { redactUrl } from '@dl/core';

/** How an entry of a list is judged. */
export interface EntryPolicy {
  /** Schemes accepted from remote documents (lowercase, no colon). */
  readonly allowedSchemes: ReadonlySet<string>;
  /** The document's own URL: relative entries resolve against it. */
  readonly documentUrl?: URL;
  /** True for entries the caller wrote (inline): any scheme, credentials kept. */
  readonly trusted: boolean;
}

/** An entry that was refused, and why. */
export interface RejectedEntry {
  /** The entry as written, redacted. */
  readonly entry: string;
  readonly reason: string;
  readonly line?: number;
}

/**
 * Turns an entry of a list into a URL, or says why it is refused. Entries of
 * remote documents are untrusted: only allowed schemes, never `mirror:`
 * (that would loop), and no userinfo — neither their own nor the document's
 * (a relative entry would otherwise inherit the list's credentials).
 */
export function entryUrl(raw: string, policy: EntryPolicy): URL | string {
  // Characters that never stand unencoded in a URL: such an entry is markup
  // or prose (an error page served as a list), not a relative URL.
  if (/[<>"`{}|\\^]/.test(raw)) return 'not a URL (it contains characters a URL cannot hold)';
  let url: URL;
  try {
    url = new URL(raw, policy.documentUrl);
  } catch {
    return 'not a URL';
  }
  const scheme = url.protocol.slice(0, -1).toLowerCase();
  if (scheme === 'mirror') return 'a mirror: entry would point back into a mirror set';
  if (!policy.trusted && !policy.allowedSchemes.has(scheme)) {
    return `the ${scheme}: scheme is not allowed here (allowed: ${[...policy.allowedSchemes].map((s) => `${s}:`).join(', ')})`;
  }
  if (!policy.trusted) {
    url.username = '';
    url.password = '';
  }
  url.hash = '';
  return url;
}

/** The same URL as a base: its path ends with `/`. */
export function asBase(url: URL): URL {
  const base = new URL(url.href);
  if (!base.pathname.endsWith('/')) base.pathname += '/';
  base.search = '';
  return base;
}

/** A rejected entry, ready to report. */
export function rejected(raw: string, reason: string, line?: number): RejectedEntry {
  return { entry: redactUrl(raw), reason, ...(line === undefined ? {} : { line }) };
}
