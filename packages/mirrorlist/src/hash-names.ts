import type { DigestAlgorithm } from '@dl/core';

/** Metalink 4 (IANA "Hash Function Textual Names") and Metalink 3 spellings. */
const NAMES: Readonly<Record<string, DigestAlgorithm>> = {
  md5: 'md5',
  'sha-1': 'sha1',
  sha1: 'sha1',
  'sha-224': 'sha224',
  sha224: 'sha224',
  'sha-256': 'sha256',
  sha256: 'sha256',
  'sha-384': 'sha384',
  sha384: 'sha384',
  'sha-512': 'sha512',
  sha512: 'sha512',
};

/** The digest algorithm a metalink hash type names, or undefined for one `@dl` does not compute. */
export function digestAlgorithmOf(type: string): DigestAlgorithm | undefined {
  const key = type.trim().toLowerCase();
  return Object.hasOwn(NAMES, key) ? NAMES[key] : undefined;
}
