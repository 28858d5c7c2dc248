import {
  DIGEST_HEX_LENGTHS,
  redactText,
  redactUrl,
  type DigestAlgorithm,
  type Digests,
} from '@dl/core';

/** One download a manifest line (or a command-line URL) asks for. */
export interface ManifestEntry {
  /** What to download. */
  readonly url: URL;
  /** Where it goes, relative to the output folder, as written in the line. */
  readonly path?: string;
  /** Expected size in bytes. */
  readonly size?: number;
  /** Expected digests, lowercase hex. */
  readonly digests?: Digests;
}

/** What one manifest line says: an entry, nothing (blank or `#` comment), or why it is bad. */
export type ParsedLine =
  { readonly kind: 'entry'; readonly entry: ManifestEntry } | { readonly kind: 'blank' } | BadLine;

/** A line that cannot be used: why, and what it named (never with credentials). */
export interface BadLine {
  readonly kind: 'bad';
  readonly reason: string;
  readonly url?: string;
  readonly path?: string;
}

const BLANK: ParsedLine = Object.freeze({ kind: 'blank' });

/**
 * Parses one manifest line: a JSON object
 * (`{"url", "path"?, "size"?, "digests"?: {"sha256": …}}`, unknown keys
 * ignored) or a bare URL. `supports` tells which URL schemes are served;
 * relative URLs resolve against `base` (a mirror set's `mirror://name/`)
 * and are bad without one. Reasons never contain credentials.
 */
export function parseManifestLine(
  text: string,
  supports: (url: URL) => boolean,
  base?: URL,
): ParsedLine {
  const read = readManifestLine(text, supports, base);
  if (read === undefined) return BLANK;
  if ((read as Partial<BadLine>).kind === 'bad') return read as BadLine;
  return { kind: 'entry', entry: read as ManifestEntry };
}

/**
 * {@link parseManifestLine} without the wrapper object, for the per-line
 * loop: the entry, the bad line (`kind: 'bad'`), or undefined for a blank
 * line or a comment.
 */
export function readManifestLine(
  text: string,
  supports: (url: URL) => boolean,
  base: URL | undefined,
): ManifestEntry | BadLine | undefined {
  const line = text.trim();
  if (line === '') return undefined;
  const first = line.charCodeAt(0);
  if (first === HASH) return undefined;
  if (first !== BRACE && first !== BRACKET && first !== QUOTE) {
    if (/\s/.test(line)) return bad('not JSON and not a single URL');
    return entryFrom(line, undefined, undefined, undefined, supports, base);
  }
  let value: unknown;
  try {
    value = JSON.parse(line);
  } catch (error) {
    return bad(`invalid JSON (${redactText((error as Error).message)})`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return bad('a JSON line must be an object');
  }
  const fields = value as Record<string, unknown>;
  return entryFrom(fields.url, fields.path, fields.size, fields.digests, supports, base);
}

const HASH = 0x23;
const BRACE = 0x7b;
const BRACKET = 0x5b;
const QUOTE = 0x22;

function entryFrom(
  raw: unknown,
  pathField: unknown,
  size: unknown,
  digestsField: unknown,
  supports: (url: URL) => boolean,
  base: URL | undefined,
): ManifestEntry | BadLine {
  const path = typeof pathField === 'string' ? pathField : undefined;
  if (raw === undefined) return bad('no "url"', undefined, path);
  if (typeof raw !== 'string' || raw === '') {
    return bad('"url" must be a non-empty string', undefined, path);
  }
  let url: URL;
  try {
    // One parse in the common case; a relative URL is tried against the base only when there is one.
    url = base === undefined || URL.canParse(raw) ? new URL(raw) : new URL(raw, base);
  } catch {
    return bad(`"${redactText(raw)}" is not an absolute URL`, undefined, path);
  }
  if (!supports(url)) {
    const shown = redactUrl(url);
    return bad(`unknown scheme "${url.protocol}" in ${shown}`, shown, path);
  }
  if (pathField !== undefined && path === undefined) {
    return bad('"path" must be a string', redactUrl(url), path);
  }
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    return bad(
      `"size" must be a whole number of bytes, 0 or more (got ${JSON.stringify(size)})`,
      redactUrl(url),
      path,
    );
  }
  const digests = parseDigests(digestsField);
  if (typeof digests === 'string') return bad(digests, redactUrl(url), path);
  const entry: { url: URL; path?: string; size?: number; digests?: Digests } = { url };
  if (path !== undefined) entry.path = path;
  if (size !== undefined) entry.size = size as number;
  if (digests !== undefined) entry.digests = digests;
  return entry;
}

/** Digests as lowercase hex, or the reason they are bad. */
export function parseDigests(value: unknown): Digests | undefined | string {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return '"digests" must be an object such as {"sha256": "<hex>"}';
  }
  const out: Record<string, string> = {};
  for (const algorithm in value) {
    if (!Object.hasOwn(value, algorithm)) continue;
    const hex = (value as Record<string, unknown>)[algorithm];
    const reason = digestProblem(algorithm, hex);
    if (reason !== undefined) return reason;
    // Most digests are lowercase already; toLowerCase would copy them anyway.
    out[algorithm] =
      hexCase(hex as string) === UPPER ? (hex as string).toLowerCase() : (hex as string);
  }
  return out as Digests;
}

/** Why `hex` is not a valid `algorithm` digest, or undefined when it is. */
export function digestProblem(algorithm: string, hex: unknown): string | undefined {
  const length = Object.hasOwn(DIGEST_HEX_LENGTHS, algorithm)
    ? DIGEST_HEX_LENGTHS[algorithm as DigestAlgorithm]
    : undefined;
  if (length === undefined) {
    return `unknown digest algorithm "${algorithm}" (known: ${Object.keys(DIGEST_HEX_LENGTHS).join(', ')})`;
  }
  if (typeof hex !== 'string' || hex.length !== length || hexCase(hex) === NOT_HEX) {
    return `the ${algorithm} digest must be ${length} hex characters`;
  }
  return undefined;
}

const NOT_HEX = 0;
const LOWER = 1;
const UPPER = 2;

/** Whether `text` is hex, and whether it has an uppercase digit. */
function hexCase(text: string): typeof NOT_HEX | typeof LOWER | typeof UPPER {
  if (text.length === 0) return NOT_HEX;
  let found: typeof LOWER | typeof UPPER = LOWER;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if ((c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x66)) continue;
    if (c >= 0x41 && c <= 0x46) found = UPPER;
    else return NOT_HEX;
  }
  return found;
}

function bad(reason: string, url?: string, path?: string): BadLine {
  const line: { kind: 'bad'; reason: string; url?: string; path?: string } = {
    kind: 'bad',
    reason,
  };
  if (path !== undefined) line.path = path;
  if (url !== undefined) line.url = url;
  return line;
}
