import { readdir } from 'node:fs/promises';
import { basename, dirname } from 'node:path';
import { parseTempName, removeStaleTemps, type TempOwner } from '@dl/core';

/** Answers, for the owners found in temp names, which are certainly gone (a fleet worker whose heartbeat key expired). */
export type DeadOwners = (owners: readonly TempOwner[]) => Promise<ReadonlySet<string>>;

/** `host-pid`: how the fleet names a temp's owner (its heartbeat key ends with it). */
export function ownerKey(owner: TempOwner): string {
  return `${owner.host}-${owner.pid}`;
}

/**
 * Removes the temp files a dead download left next to `destinations` (a
 * chunk redone after its worker died): those whose owner is provably dead,
 * by this machine's process table (core's rule) or by `deadOwners`. Reads
 * each folder once to find the owners, asks `deadOwners` once, then lets
 * core remove what is stale. Never throws; returns the paths removed.
 */
export async function removeDeadWorkerTemps(
  destinations: readonly string[],
  deadOwners: DeadOwners,
): Promise<string[]> {
  const byDir = new Map<string, Set<string>>();
  for (const destination of destinations) {
    const dir = dirname(destination);
    let names = byDir.get(dir);
    if (names === undefined) byDir.set(dir, (names = new Set()));
    names.add(basename(destination));
  }
  const removed: string[] = [];
  for (const [dir, wanted] of byDir) {
    try {
      const owners = new Map<string, TempOwner>();
      for (const entry of await readdir(dir)) {
        const temp = parseTempName(entry);
        if (temp !== undefined && wanted.has(temp.name)) owners.set(ownerKey(temp), temp);
      }
      if (owners.size === 0) continue;
      const dead = await deadOwners([...owners.values()]);
      for (const name of wanted) {
        removed.push(
          ...(await removeStaleTemps(dir, {
            name,
            isOwnerDead: (owner) => dead.has(ownerKey(owner)),
          })),
        );
      }
    } catch {
      // A folder that vanished or cannot be read holds nothing to clean.
    }
  }
  return removed;
}
