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
  const relative = path ?? pathOfUrl(url);
  if (relative === undefined) {
    return { ok: false, reason: `the URL has no file name to use as a path; give a "path"` };
  }
  const what = path === undefined ? 'the URL path' : `path "${printable(relative)}"`;
  if (relative.includes('\0')) return { ok: false, reason: `${what} contains a NUL byte` };
  if (isAbsolute(relative) || posix.isAbsolute(relative) || win32.isAbsolute(relative)) {
    return {
      ok: false,
      reason: `${what} is absolute; paths must be relative to the output folder`,
    };
  }
  const segments = relative.split(/[\\/]/);
  if (segments.includes('..')) {
    return { ok: false, reason: `${what} contains "..", which could leave the output folder` };
  }
  if (segments.every((s) => s === '' || s === '.')) {
    return { ok: false, reason: `${what} names no file` };
  }
  const base = resolve(outDir);
  const full = join(base, relative);
  // The checks above already guarantee this; keep a last line of defence.
  if (!full.startsWith(base + sep)) {
    return { ok: false, reason: `${what} resolves outside the output folder` };
  }
  return { ok: true, path: full };
}

/** The URL's decoded path without its leading slash, or undefined when it names no file. */
function pathOfUrl(url: URL): string | undefined {
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
