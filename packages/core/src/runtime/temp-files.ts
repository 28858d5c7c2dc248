import { createHash } from 'node:crypto';
import { opendir } from 'node:fs/promises';
import { hostname } from 'node:os';
import { join } from 'node:path';
import { settleStaleTemp } from './resume-store.js';

export { settleStaleTemp } from './resume-store.js';

/** Temp files end with this; they live next to their destination until renamed. */
export const TEMP_SUFFIX = '.dl-part';

/**
 * This machine's tag in temp file names: the first 8 hex digits of the
 * SHA-256 of `os.hostname()`. Machines that write to shared storage tell
 * their temps apart by it.
 */
export const HOST_TAG = createHash('sha256').update(hostname()).digest('hex').slice(0, 8);

/** Who wrote a temp file: the {@link HOST_TAG} of its machine and its process id there. */
export interface TempOwner {
  readonly host: string;
  readonly pid: number;
}

/** What a temp file's name says: the destination's file name and who writes it. */
export interface TempName extends TempOwner {
  /** The file name (no folder) of the destination the temp becomes. */
  readonly name: string;
}

const OWNER_PART = `${HOST_TAG}-${process.pid}`;

/**
 * The temp file name for a destination named `name`, written by this
 * process: `.NAME.HOST-PID.UNIQUE.dl-part`, in the destination's folder.
 * `unique` (lowercase letters and digits) tells this process's temps apart.
 */
export function tempNameFor(name: string, unique: string): string {
  return `.${name}.${OWNER_PART}.${unique}${TEMP_SUFFIX}`;
}

const TEMP_NAME = /^\.(.+)\.([0-9a-f]{8})-([1-9][0-9]{0,9})\.[0-9a-z]+\.dl-part$/;

/**
 * Reads a temp file name (no folder) written by `@dl/core`'s file sink:
 * `.NAME.HOST-PID.UNIQUE.dl-part`. Undefined for any other name, including
 * temps of releases that did not record their owner.
 *
 * @example
 * ```ts
 * parseTempName('.a.rpm.3f2a9c1e-4242.9b1c0.dl-part'); // { name: 'a.rpm', host: '3f2a9c1e', pid: 4242 }
 * ```
 */
export function parseTempName(fileName: string): TempName | undefined {
  const match = TEMP_NAME.exec(fileName);
  if (match === null) return undefined;
  return { name: match[1]!, host: match[2]!, pid: Number(match[3]) };
}

/**
 * Whether the process that wrote a temp is provably gone: it ran on this
 * machine (same {@link HOST_TAG}), is not this process, and no process has
 * its id any more (`kill(pid, 0)` fails with ESRCH). A temp of another
 * machine cannot be proven stale this way: pass `isOwnerDead` to functions
 * below for those.
 */
export function isLocalOwnerDead(owner: TempOwner): boolean {
  if (owner.host !== HOST_TAG || owner.pid === process.pid) return false;
  try {
    process.kill(owner.pid, 0);
    return false;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

/** Options of {@link isStaleTemp} and {@link removeStaleTemps}. */
export interface StaleTempOptions {
  /**
   * Says an owner is dead when this machine cannot prove it: e.g. a fleet
   * worker that knows another worker (host tag and pid) died. Consulted in
   * addition to {@link isLocalOwnerDead}; never for this process's own temps.
   */
  readonly isOwnerDead?: (owner: TempOwner) => boolean;
}

/**
 * Whether `fileName` (no folder) is a temp of `@dl/core`'s file sink whose
 * writer is provably gone ({@link isLocalOwnerDead}, or `isOwnerDead`), so
 * nothing will ever rename it into place and it can be removed. A name that
 * is not ours, or whose owner may be alive, is never stale.
 */
export function isStaleTemp(fileName: string, options: StaleTempOptions = {}): boolean {
  const temp = parseTempName(fileName);
  if (temp === undefined) return false;
  if (temp.host === HOST_TAG && temp.pid === process.pid) return false;
  return isLocalOwnerDead(temp) || options.isOwnerDead?.(temp) === true;
}

/**
 * Removes the stale temps ({@link isStaleTemp}) in `folder`, only those of
 * destinations named `name` when given. Resolves with the paths removed; a
 * missing folder removes nothing. Reads the folder once; a temp that
 * vanished meanwhile is not an error.
 *
 * A stale temp that has a resume record next to it (`TEMP.json`, written
 * once a download passed the kept-partial threshold) is not removed but
 * adopted ({@link settleStaleTemp}): renamed to its destination's kept
 * partial (`.NAME.dl-resume`), which the next download of that destination
 * resumes. Adopted temps are not in the result.
 */
export async function removeStaleTemps(
  folder: string,
  options: StaleTempOptions & { readonly name?: string } = {},
): Promise<string[]> {
  const removed: string[] = [];
  let dir;
  try {
    dir = await opendir(folder);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT' || code === 'ENOTDIR') return removed;
    throw error;
  }
  for await (const entry of dir) {
    if (!entry.name.endsWith(TEMP_SUFFIX) || entry.isDirectory()) continue;
    const temp = parseTempName(entry.name);
    if (temp === undefined || (options.name !== undefined && temp.name !== options.name)) continue;
    if (!isStaleTemp(entry.name, options)) continue;
    const path = join(folder, entry.name);
    if (settleStaleTemp(path, temp.name) === 'removed') removed.push(path);
  }
  return removed;
}
