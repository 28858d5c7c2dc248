import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { DigestAlgorithm, Digests } from '@dl/core';

/**
 * The skip check of a fleet worker: the size and digests of the file at
 * `path` when it already has the expected size (when one is given) and every
 * expected digest, read in one pass; otherwise undefined. Without expected
 * digests nothing is proven (a size alone is not proof) and the answer is
 * undefined. Never throws: an unreadable file is simply downloaded again.
 */
export async function verifiedFile(
  path: string,
  expected: { readonly size?: number; readonly digests?: Digests },
  signal?: AbortSignal,
): Promise<{ size: number; digests: Digests } | undefined> {
  const wanted = Object.entries(expected.digests ?? {}).filter(
    (entry): entry is [DigestAlgorithm, string] => typeof entry[1] === 'string',
  );
  if (wanted.length === 0) return undefined;
  try {
    // Synchronous on purpose: a missing destination is the common case, and an async stat costs a
    // thread-pool round trip and an ENOENT error per file, several times the CPU (core's resume
    // check stats synchronously too).
    const info = statSync(path, { throwIfNoEntry: false });
    if (
      info === undefined ||
      !info.isFile() ||
      (expected.size !== undefined && info.size !== expected.size)
    )
      return undefined;
    const hashes = wanted.map(([algorithm]) => createHash(algorithm));
    for await (const chunk of createReadStream(path, { signal })) {
      for (const hash of hashes) hash.update(chunk as Buffer);
    }
    const digests: Digests = {};
    for (let i = 0; i < wanted.length; i++) {
      const [algorithm, hex] = wanted[i]!;
      const actual = hashes[i]!.digest('hex');
      if (actual !== hex.toLowerCase()) return undefined;
      digests[algorithm] = actual;
    }
    return { size: info.size, digests };
  } catch {
    return undefined;
  }
}
