import { DIGEST_HEX_LENGTHS, type DigestAlgorithm, type Digests } from '@dl/core';

/**
 * Digests a server advertised, as lowercase hex: RFC 9530 `Repr-Digest`
 * (and `Content-Digest` when the content is the whole representation), then
 * RFC 3230 `Digest`. The first header naming an algorithm wins. Unknown
 * algorithms and malformed values are ignored: these are opportunistic checks.
 */
export function parseDigestHeaders(
  headers: Readonly<Record<string, string | string[] | undefined>>,
  options: { readonly contentIsRepresentation: boolean },
): Digests | undefined {
  // Most servers send none of them: skip the parsing (it runs for every response).
  if (
    headers['repr-digest'] === undefined &&
    headers['content-digest'] === undefined &&
    headers['digest'] === undefined
  ) {
    return undefined;
  }
  const digests: Digests = {};
  const add = (name: string, base64: string) => {
    const algorithm = ALGORITHMS[name.trim().toLowerCase()];
    if (algorithm === undefined || digests[algorithm] !== undefined) return;
    const hex = decodeBase64(base64.trim());
    if (hex !== undefined && hex.length === DIGEST_HEX_LENGTHS[algorithm]) digests[algorithm] = hex;
  };
  for (const [name, value] of structuredPairs(headers['repr-digest'])) add(name, value);
  if (options.contentIsRepresentation) {
    for (const [name, value] of structuredPairs(headers['content-digest'])) add(name, value);
  }
  for (const [name, value] of legacyPairs(headers['digest'])) add(name, value);
  return Object.keys(digests).length ? digests : undefined;
}

const ALGORITHMS: Readonly<Record<string, DigestAlgorithm>> = {
  md5: 'md5',
  sha: 'sha1',
  'sha-1': 'sha1',
  'sha-224': 'sha224',
  'sha-256': 'sha256',
  'sha-384': 'sha384',
  'sha-512': 'sha512',
};

function join(value: string | string[] | undefined): string {
  return value === undefined ? '' : Array.isArray(value) ? value.join(',') : value;
}

/** `sha-256=:BASE64:, sha-512=:BASE64:;param` (a structured-field dictionary of byte sequences). */
function* structuredPairs(value: string | string[] | undefined): Generator<[string, string]> {
  for (const member of join(value).split(',')) {
    const m = /^\s*([a-z0-9*_.-]+)\s*=\s*:([A-Za-z0-9+/=]*):/i.exec(member);
    if (m?.[1] !== undefined && m[2] !== undefined) yield [m[1], m[2]];
  }
}

/** `SHA-256=BASE64,MD5=BASE64` (RFC 3230 instance digests). */
function* legacyPairs(value: string | string[] | undefined): Generator<[string, string]> {
  for (const member of join(value).split(',')) {
    const eq = member.indexOf('=');
    if (eq > 0) yield [member.slice(0, eq), member.slice(eq + 1)];
  }
}

function decodeBase64(value: string): string | undefined {
  if (!/^[A-Za-z0-9+/]+={0,2}$/.test(value)) return undefined;
  return Buffer.from(value, 'base64').toString('hex');
}
