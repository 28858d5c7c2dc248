import { createHash } from 'node:crypto';
import { readFileSync, watch, type FSWatcher } from 'node:fs';
import { join } from 'node:path';
import { TEMP_SUFFIX } from '@dl/core';

/** What a file must be once it appears under its final name. */
export interface ExpectedFile {
  readonly size: number;
  readonly sha256: string;
}

/** Watches destination folders while downloads run; see {@link watchDestinations}. */
export interface DestinationWatcher {
  /** Files seen appearing under a final name (and checked right then). */
  readonly seen: number;
  /** Every final name that appeared with the wrong size or digest, or was written in place. */
  readonly violations: readonly string[];
  /** Stops watching (idempotent). */
  close(): void;
}

/**
 * Watches `folders` (inotify, not recursive: create them first) and checks
 * every file the moment its final name appears: it must already have its
 * expected size and sha256 (a file renamed into place is complete; one
 * written in place would be seen partial). Temp files (`TEMP_SUFFIX`) are
 * ignored; a write event on a final name is itself a violation.
 *
 * @param expected - By absolute path; a final name not in it is a violation too.
 */
export function watchDestinations(
  folders: readonly string[],
  expected: ReadonlyMap<string, ExpectedFile>,
): DestinationWatcher {
  const violations: string[] = [];
  let seen = 0;
  const watchers: FSWatcher[] = [];

  const check = (folder: string, event: string, name: string) => {
    if (name.endsWith(TEMP_SUFFIX)) return;
    const path = join(folder, name);
    if (event === 'change') {
      // Renames arrive as 'rename'; content changes under a final name mean it was written there.
      violations.push(`${path}: written under its final name`);
      return;
    }
    let data: Buffer;
    try {
      data = readFileSync(path);
    } catch {
      return; // Removed again (a test's own clean-up).
    }
    seen++;
    const want = expected.get(path);
    if (want === undefined) {
      violations.push(`${path}: not an expected destination`);
      return;
    }
    const sha256 = createHash('sha256').update(data).digest('hex');
    if (data.length !== want.size || sha256 !== want.sha256) {
      violations.push(
        `${path}: appeared with ${data.length} bytes (want ${want.size}), sha256 ${sha256 === want.sha256 ? 'right' : 'WRONG'}`,
      );
    }
  };

  for (const folder of folders) {
    const watcher = watch(folder, { persistent: false }, (event, name) => {
      if (name !== null) check(folder, event, name.toString());
    });
    watcher.on('error', (error) => violations.push(`watching ${folder}: ${String(error)}`));
    watchers.push(watcher);
  }
  return {
    get seen() {
      return seen;
    },
    violations,
    close() {
      for (const watcher of watchers.splice(0)) watcher.close();
    },
  };
}
