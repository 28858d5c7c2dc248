import { isAbsolute, join, posix, resolve, sep, win32 } from 'node:path';

/** Where an entry's file goes, or why it may not go anywhere. */
export type Destination =
  { readonly ok: true; readonly path: string } | { readonly ok: false; readonly reason: string };

/**
 * Joins `outDir` with an entry's relative `path` (or, without one, the URL's
 * path), refusing anything that would land outside `outDir`: absolute paths,
 * `..` segments, NUL bytes, and paths that name the folder itself. A
 * manifest is input, and input must not choose where files are written.
 */
export function resolveDestination(
  outDir: string,
  path: string | undefined,
  url: URL,
): Destination {
  const full = destinationsUnder(outDir)(path, url);
  return typeof full === 'string' ? { ok: true, path: full } : full;
}

/** A refused destination, as {@link destinationsUnder} returns it. */
export type Refusal = { readonly ok: false; readonly reason: string };

/**
 * {@link resolveDestination} for many entries under one folder: the folder
 * is resolved once, and a plain relative path (`a/b/c`: no `.`, `..` or
 * empty segments, no backslash, NUL or colon) is appended to it without
 * normalising the whole path again. The result is the full path, or the
 * reason it is refused.
 */
export function destinationsUnder(
  outDir: string,
): (path: string | undefined, url: URL) => string | Refusal {
  const base = resolve(outDir);
  const prefix = base + sep;
  // On POSIX, with a folder other than the root, a plain path appended to the prefix is already normal.
  const fast = sep === '/' && base !== '/';
  return (path, url) => {
    const relative = path ?? pathOfUrl(url);
    if (relative === undefined) {
      return { ok: false, reason: `the URL has no file name to use as a path; give a "path"` };
    }
    if (fast && isPlain(relative)) return prefix + relative;
    return checkedJoin(base, prefix, path === undefined, relative);
  };
}

/** True for `a/b/c`: segments neither empty nor `.` or `..`; no backslash, NUL or colon. */
function isPlain(relative: string): boolean {
  let segmentStart = 0;
  const { length } = relative;
  for (let i = 0; i <= length; i++) {
    const c = i === length ? SLASH : relative.charCodeAt(i);
    if (c === SLASH) {
      const size = i - segmentStart;
      if (size === 0) return false;
      if (
        relative.charCodeAt(segmentStart) === DOT &&
        (size === 1 || (size === 2 && relative.charCodeAt(segmentStart + 1) === DOT))
      ) {
        return false;
      }
      segmentStart = i + 1;
    } else if (c === BACKSLASH || c === 0 || c === COLON) return false;
  }
  return true;
}

const SLASH = 0x2f;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const COLON = 0x3a;

function checkedJoin(
  base: string,
  prefix: string,
  fromUrl: boolean,
  relative: string,
): string | Refusal {
  const what = () => (fromUrl ? 'the URL path' : `path "${printable(relative)}"`);
  if (relative.includes('\0')) return { ok: false, reason: `${what()} contains a NUL byte` };
  if (isAbsolute(relative) || posix.isAbsolute(relative) || win32.isAbsolute(relative)) {
    return {
      ok: false,
      reason: `${what()} is absolute; paths must be relative to the output folder`,
    };
  }
  const segments = relative.split(/[\\/]/);
  if (segments.includes('..')) {
    return { ok: false, reason: `${what()} contains "..", which could leave the output folder` };
  }
  if (segments.every((s) => s === '' || s === '.')) {
    return { ok: false, reason: `${what()} names no file` };
  }
  const full = join(base, relative);
  // The checks above already guarantee this; keep a last line of defence.
  if (!full.startsWith(prefix)) {
    return { ok: false, reason: `${what()} resolves outside the output folder` };
  }
  return full;
}

/** The URL's decoded path without its leading slash, or undefined when it names no file. */
function pathOfUrl(url: URL): string | undefined {
  const { pathname } = url;
  // Nothing to decode or drop: the path as it is, without its leading slash.
  if (
    pathname.length > 1 &&
    pathname.charCodeAt(0) === SLASH &&
    pathname.charCodeAt(pathname.length - 1) !== SLASH &&
    !pathname.includes('%') &&
    !pathname.includes('//')
  ) {
    return pathname.slice(1);
  }
  const segments = url.pathname.split('/').map((segment) => {
    try {
      return decodeURIComponent(segment);
    } catch {
      return segment;
    }
  });
  const relative = segments.filter((s) => s !== '').join('/');
  return relative === '' || url.pathname.endsWith('/') ? undefined : relative;
}

function printable(text: string): string {
  let out = '';
  for (const char of text) {
    const code = char.charCodeAt(0);
    out += code < 0x20 || code === 0x7f ? `\\x${code.toString(16).padStart(2, '0')}` : char;
  }
  return out;
}

/**
 * The file name a URL given on the command line is saved under, as curl
 * `-O` and wget take it: the last segment of its path, percent-decoded.
 * Undefined when the path is empty or ends in `/` (it names no file). The
 * name is then checked like a manifest's `path` where it is joined.
 */
export function fileNameOfUrl(url: URL): string | undefined {
  const { pathname } = url;
  const last = pathname.slice(pathname.lastIndexOf('/') + 1);
  if (last === '') return undefined;
  try {
    return decodeURIComponent(last);
  } catch {
    return last;
  }
}
