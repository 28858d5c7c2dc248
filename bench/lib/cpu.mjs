import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';

let ticks;
/** Clock ticks per second of /proc's CPU times. */
function clockTicks() {
  if (ticks === undefined) {
    try {
      ticks = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
    } catch {
      ticks = 100;
    }
  }
  return ticks;
}

/**
 * CPU seconds (user + system) a running process has used so far, from
 * /proc/PID/stat; with `children`, plus those of its waited-for children.
 * Undefined when the process is gone.
 */
export function processCpuSeconds(pid, { children = false } = {}) {
  let stat;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // Fields after the command name (which may hold spaces), counted from field 3.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const [utime, stime, cutime, cstime] = [f[11], f[12], f[13], f[14]].map(Number);
  return (utime + stime + (children ? cutime + cstime : 0)) / clockTicks();
}
