import { readdirSync } from 'node:fs';

/**
 * The number of file descriptors this process has open, from `/proc/self/fd`
 * (Linux), or `undefined` where that is not available. Compare two counts
 * taken the same way; the listing's own descriptor is in both.
 */
export function countOpenFds(): number | undefined {
  try {
    return readdirSync('/proc/self/fd').length;
  } catch {
    return undefined;
  }
}
