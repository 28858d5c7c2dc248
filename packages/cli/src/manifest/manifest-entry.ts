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
  | { readonly kind: 'entry'; readonly entry: ManifestEntry }
  | { readonly kind: 'blank' }
  | {
      readonly kind: 'bad';
      readonly reason: string;
      readonly url?: string;
      readonly path?: string;
    };

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
  const line = text.trim();
  if (line === '' || line.startsWith('#')) return { kind: 'blank' };
  if (!/^[[{"]/.test(line)) {
    if (/\s/.test(line)) return bad('not JSON and not a single URL');
    return entryFrom({ url: line }, supports, base);
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
  return entryFrom(value as Record<string, unknown>, supports, base);
}

function entryFrom(
  fields: Record<string, unknown>,
  supports: (url: URL) => boolean,
  base: URL | undefined,
): ParsedLine {
  const path = typeof fields.path === 'string' ? fields.path : undefined;
  const at = { ...(path === undefined ? {} : { path }) };
  const raw = fields.url;
  if (raw === undefined) return bad('no "url"', at);
  if (typeof raw !== 'string' || raw === '') return bad('"url" must be a non-empty string', at);
  let url: URL;
  try {
    url = URL.canParse(raw) || base === undefined ? new URL(raw) : new URL(raw, base);
  } catch {
    return bad(`"${redactText(raw)}" is not an absolute URL`, at);
  }
  const shown = { ...at, url: redactUrl(url) };
  if (!supports(url)) {
    return bad(`unknown scheme "${url.protocol}" in ${shown.url}`, shown);
  }
  if (fields.path !== undefined && typeof fields.path !== 'string') {
    return bad('"path" must be a string', shown);
  }
  const size = fields.size;
  if (size !== undefined && (typeof size !== 'number' || !Number.isSafeInteger(size) || size < 0)) {
    return bad(
      `"size" must be a whole number of bytes, 0 or more (got ${JSON.stringify(size)})`,
      shown,
    );
  }
  const digests = parseDigests(fields.digests);
  if (typeof digests === 'string') return bad(digests, shown);
  return {
    kind: 'entry',
    entry: {
      url,
      ...(path === undefined ? {} : { path }),
      ...(size === undefined ? {} : { size }),
      ...(digests === undefined ? {} : { digests }),
    },
  };
}

/** Digests as lowercase hex, or the reason they are bad. */
export function parseDigests(value: unknown): Digests | undefined | string {
  if (value === undefined) return undefined;
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return '"digests" must be an object such as {"sha256": "<hex>"}';
  }
  const out: Record<string, string> = {};
  for (const [algorithm, hex] of Object.entries(value)) {
    const reason = digestProblem(algorithm, hex);
    if (reason !== undefined) return reason;
    out[algorithm] = (hex as string).toLowerCase();
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
  if (typeof hex !== 'string' || hex.length !== length || !/^[0-9a-fA-F]+$/.test(hex)) {
    return `the ${algorithm} digest must be ${length} hex characters`;
  }
  return undefined;
}

function bad(reason: string, at: { url?: string; path?: string } = {}): ParsedLine {
  return { kind: 'bad', reason, ...at };
}
