import { createHash } from 'node:crypto';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { TEMP_SUFFIX } from '@dl/core';

/** Every file under `dir` (relative paths); none when it does not exist. */
export async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => join(entry.parentPath, entry.name).slice(dir.length + 1));
}

/** Temp files (`TEMP_SUFFIX`) left under `dir`. */
export async function tempFilesUnder(dir: string): Promise<string[]> {
  return (await filesUnder(dir)).filter((name) => name.endsWith(TEMP_SUFFIX));
}

/** sha256 (hex) of a file, or undefined when it does not exist. */
export async function sha256OfFile(path: string): Promise<string | undefined> {
  const data = await readFile(path).catch(() => undefined);
  return data === undefined ? undefined : sha256(data);
}

export function sha256(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

/** A seeded generator (mulberry32) for reproducible sizes and moments. */
export function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
