import { mkdir, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';

/** Writes a file a daemon serves (folders readable by the daemon's session users). */
export async function writeServed(root: string, path: string, data: Uint8Array): Promise<void> {
  const file = join(root, path);
  await mkdir(dirname(file), { recursive: true, mode: 0o755 });
  await writeFile(file, data, { mode: 0o644 });
}
