import { createHash } from 'node:crypto';
import { createReadStream, statSync } from 'node:fs';
import type { Digests } from '@dl/core';

/**
 * The size of the file at `path` when it already has the expected size and
 * every expected digest, so downloading it again would change nothing;
 * otherwise undefined. Without expected digests nothing can be proven and
 * the answer is undefined. Never throws: an unreadable file is not skipped.
 */
export async function alreadyValid(
  path: string,
  expected: { readonly size?: number; readonly digests?: Digests },
  signal?: AbortSignal,
): Promise<number | undefined> {
  const digests = Object.entries(expected.digests ?? {}) as [string, string][];
  if (digests.length === 0) return undefined;
  // Synchronous and without an exception for a missing file: this runs once
  // per manifest line, and a fresh output folder is the common case.
  const stat = statSync(path, { throwIfNoEntry: false });
  if (stat === undefined || !stat.isFile()) return undefined;
  if (expected.size !== undefined && stat.size !== expected.size) return undefined;
  const hashes = digests.map(([algorithm]) => createHash(algorithm));
  let size = 0;
  try {
    for await (const chunk of createReadStream(path, { highWaterMark: 256 * 1024, signal })) {
      size += (chunk as Buffer).length;
      for (const hash of hashes) hash.update(chunk as Buffer);
    }
  } catch {
    return undefined;
  }
  const valid = digests.every(([, hex], i) => hashes[i]!.digest('hex') === hex.toLowerCase());
  return valid ? size : undefined;
}
