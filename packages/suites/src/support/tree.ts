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
