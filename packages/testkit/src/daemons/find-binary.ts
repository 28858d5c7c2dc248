import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

/**
 * The absolute path of a program, looked up in `PATH` and then in the
 * `extra` folders (daemons live in `/usr/sbin`, often not on a user's PATH).
 * Throws with an install hint when it is missing: a test that needs a daemon
 * fails loudly rather than skipping.
 */
export function findBinary(
  name: string,
  installHint: string,
  extra: readonly string[] = ['/usr/sbin', '/usr/local/sbin', '/sbin'],
): string {
  const folders = [...(process.env.PATH ?? '').split(delimiter).filter(Boolean), ...extra];
  for (const folder of folders) {
    const candidate = join(folder, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not here.
    }
  }
  throw new Error(
    `${name} is not installed (looked in ${folders.join(', ')}). Install it: ${installHint}`,
  );
}
