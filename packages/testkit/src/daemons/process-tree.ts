import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

function parentOf(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name may contain spaces and parentheses: the fields after its last ')' are fixed.
    const rest = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(rest[1]);
  } catch {
    return undefined;
  }
}

/** Every process below `pid` (children, grandchildren, …), from `/proc` (Linux). */
export function descendants(pid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const child = Number(entry);
    const parent = parentOf(child);
    if (parent === undefined) continue;
    const list = children.get(parent) ?? [];
    list.push(child);
    children.set(parent, list);
  }
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0) {
    for (const child of children.get(queue.shift() as number) ?? []) {
      out.push(child);
      queue.push(child);
    }
  }
  return out;
}

/** Sends `signal` to each pid, ignoring those that are gone; returns how many were signalled. */
export function killAll(pids: readonly number[], signal: NodeJS.Signals = 'SIGKILL'): number {
  let killed = 0;
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
      killed++;
    } catch {
      // Already gone.
    }
  }
  return killed;
}

/** What each descriptor the processes hold open points at (Linux `/proc/PID/fd`): paths, `socket:[inode]`… */
export function descriptorTargets(pids: readonly number[]): string[] {
  const targets: string[] = [];
  for (const pid of pids) {
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        targets.push(readlinkSync(`/proc/${pid}/fd/${fd}`));
      } catch {
        // Closed meanwhile.
      }
    }
  }
  return targets;
}

/** How many descriptors the processes hold open on files under `folder`. */
export function openFilesUnder(pids: readonly number[], folder: string): number {
  const prefix = folder.endsWith('/') ? folder : `${folder}/`;
  return descriptorTargets(pids).filter((target) => target.startsWith(prefix)).length;
}
