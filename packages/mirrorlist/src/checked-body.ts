import { createHash, type Hash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { ErrorCodes, ValidationError, type DigestAlgorithm, type Digests } from '@dl/core';

/**
 * The body with a metalink's size and hashes checked on the way through.
 * Used only when the core could not take them as `expect` (it reads
 * expectations on the first attempt, and that attempt reached no mirror),
 * so they are never silently skipped. The body must start at byte 0.
 */
export async function* checkedBody(
  body: AsyncIterable<Uint8Array> | Readable,
  expect: { readonly size?: number; readonly digests?: Digests },
  url: string,
): AsyncGenerator<Uint8Array> {
  const hashes = Object.entries(expect.digests ?? {}).map(
    ([algorithm, hex]) => [algorithm as DigestAlgorithm, hex!, createHash(algorithm)] as const,
  );
  let seen = 0;
  for await (const chunk of body as AsyncIterable<Uint8Array>) {
    seen += chunk.byteLength;
    if (expect.size !== undefined && seen > expect.size) throw sizeMismatch(expect.size, seen, url);
    for (const [, , hash] of hashes) (hash as Hash).update(chunk);
    yield chunk;
  }
  if (expect.size !== undefined && seen !== expect.size) throw sizeMismatch(expect.size, seen, url);
  for (const [algorithm, hex, hash] of hashes) {
    const actual = hash.digest('hex');
    if (actual !== hex.toLowerCase()) {
      throw new ValidationError(
        `Digest mismatch: ${algorithm} from the metalink ${hex.toLowerCase()}, got ${actual}`,
        {
          code: ErrorCodes.DigestMismatch,
          check: algorithm,
          expected: hex.toLowerCase(),
          actual,
          url,
        },
      );
    }
  }
}

function sizeMismatch(expected: number, actual: number, url: string): ValidationError {
  return new ValidationError(
    `Size mismatch: the metalink says ${expected} bytes, received ${actual}`,
    { code: ErrorCodes.SizeMismatch, check: 'size', expected, actual, url },
  );
}
