import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { redactUrl, type DigestAlgorithm, type Digests } from '@dl/core';
import type { PlannedRequest } from '../get/plan-entry.js';
import type { FinishedRecord } from '../output/finished-record.js';
import { systemReason } from '../system-reason.js';

/**
 * Checks the file at a request's destination against its digests without
 * downloading anything (`--checksums` of a local list without `--from`):
 * ok and `skipped` (it is already there and valid) with the digests
 * computed, or failed with `not-found` (no such file), `digest-mismatch`
 * (naming the list's line) or `write-failed` (it cannot be read).
 */
export async function checkFile(
  request: PlannedRequest,
  signal: AbortSignal,
): Promise<FinishedRecord> {
  const { destination: path, context } = request;
  const expected: Digests = request.digests ?? {};
  const line = context.line;
  const at = line === undefined ? '' : ` (line ${line})`;
  const record = (
    ok: boolean,
    size: number | null,
    digests: Digests,
    error: FinishedRecord['error'],
  ): FinishedRecord => ({
    url: redactUrl(request.url),
    path,
    size,
    digests,
    ok,
    error,
    ...(line === undefined ? {} : { line }),
    ...(ok ? { skipped: true as const } : {}),
  });
  let size: number;
  try {
    const info = await stat(path);
    if (!info.isFile()) {
      return record(false, null, expected, {
        code: 'not-found',
        message: `${path} is not a file${at}`,
      });
    }
    size = info.size;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    return record(false, null, expected, {
      code: code === 'ENOENT' || code === 'ENOTDIR' ? 'not-found' : 'write-failed',
      message: `${path}: ${systemReason(error)}${at}`,
    });
  }
  const hashes = new Map<DigestAlgorithm, Hash>();
  for (const algorithm of Object.keys(expected) as DigestAlgorithm[]) {
    hashes.set(algorithm, createHash(algorithm));
  }
  try {
    for await (const chunk of createReadStream(path, { signal, highWaterMark: 256 * 1024 })) {
      for (const hash of hashes.values()) hash.update(chunk as Buffer);
    }
  } catch (error) {
    return record(false, size, expected, {
      code: signal.aborted ? 'aborted' : 'write-failed',
      message: `${path} cannot be read: ${systemReason(error)}${at}`,
    });
  }
  const actual: Record<string, string> = {};
  for (const [algorithm, hash] of hashes) actual[algorithm] = hash.digest('hex');
  for (const [algorithm, hex] of Object.entries(expected)) {
    if (actual[algorithm] !== hex) {
      return record(false, size, expected, {
        code: 'digest-mismatch',
        message: `${path}: ${algorithm} ${actual[algorithm]}, the list says ${hex}${at}`,
      });
    }
  }
  return record(true, size, actual as Digests, null);
}
