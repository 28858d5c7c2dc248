import { readdir, rm, stat } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { TEMP_SUFFIX } from '@dl/core';

/** Who wrote a temp file, as its name tells: `host-pid` (core's owner-named temps). */
export interface TempOwner {
  readonly host: string;
  readonly pid: number;
}

/** Answers whether the process that owns a temp file is certainly gone. */
export type IsOwnerDead = (owner: TempOwner) => Promise<boolean>;

/** How {@link removeStaleTemps} decides. */
export interface StaleTempOptions {
  /** Whether an owner named in a temp file's name is dead (a fleet worker: its heartbeat key expired). */
  readonly isOwnerDead: IsOwnerDead;
  /**
   * For temp names that do not name their owner (core before owner-named
   * temps): the pids (base 36 prefixes in the name) of live workers, and how
   * long such a file must have been left untouched before it counts as stale.
   */
  readonly legacy?: {
    readonly livePids: () => Promise<readonly number[]>;
    readonly quietMs: number;
  };
}

const OWNER = /^(.+)-(\d+)\.[^.]+$/;
/** Core's temp names before owner-named temps: `<pid base 36><hex><counter base 36>`. */
const LEGACY = /^[0-9a-z]+$/;

/**
 * The owner of temp file `name` of `destination` when the name tells it
 * (`.NAME.<host>-<pid>.<random>.dl-part`), `'unknown'` for a temp of this
 * destination whose name does not tell, undefined when `name` is not a temp
 * of this destination.
 */
export function parseTempOwner(
  name: string,
  destination: string,
): TempOwner | 'unknown' | undefined {
  const head = `.${basename(destination)}.`;
  if (!name.startsWith(head) || !name.endsWith(TEMP_SUFFIX)) return undefined;
  const middle = name.slice(head.length, -TEMP_SUFFIX.length);
  if (middle === '') return undefined;
  const match = OWNER.exec(middle);
  if (match === null) return LEGACY.test(middle) ? 'unknown' : undefined;
  return { host: match[1]!, pid: Number(match[2]) };
}

/**
 * Removes the temp files a dead download left next to `destinations` (a
 * chunk redone after its worker died): those whose owner is provably dead.
 * Reads each folder once. Never throws; returns the paths removed.
 *
 * This is the one call a worker makes; when core's owner-named temps and
 * their helpers land, it delegates to them.
 */
export async function removeStaleTemps(
  destinations: readonly string[],
  options: StaleTempOptions,
): Promise<string[]> {
  const byDir = new Map<string, Set<string>>();
  for (const destination of destinations) {
    const dir = dirname(destination);
    let set = byDir.get(dir);
    if (set === undefined) byDir.set(dir, (set = new Set()));
    set.add(destination);
  }
  const removed: string[] = [];
  let livePids: Promise<readonly number[]> | undefined;
  for (const [dir, wanted] of byDir) {
    let names: string[];
    try {
      names = await readdir(dir);
    } catch {
      continue;
    }
    for (const name of names) {
      if (!name.endsWith(TEMP_SUFFIX) || !name.startsWith('.')) continue;
      for (const destination of wanted) {
        const owner = parseTempOwner(name, destination);
        if (owner === undefined) continue;
        const path = join(dir, name);
        try {
          let dead: boolean;
          if (owner !== 'unknown') {
            dead = await options.isOwnerDead(owner);
          } else if (options.legacy === undefined) {
            dead = false;
          } else {
            livePids ??= options.legacy.livePids();
            const middle = name.slice(basename(destination).length + 2, -TEMP_SUFFIX.length);
            const live = (await livePids).some((pid) => middle.startsWith(pid.toString(36)));
            const quiet = Date.now() - (await stat(path)).mtimeMs >= options.legacy.quietMs;
            dead = !live && quiet;
          }
          if (dead) {
            await rm(path, { force: true });
            removed.push(path);
          }
        } catch {
          // Gone already or unreadable: nothing to do.
        }
        break;
      }
    }
  }
  return removed;
}
