import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

let gc: (() => void) | undefined;

/**
 * Heap bytes in use after a full garbage collection, for heap-flatness
 * checks. Works without `--expose-gc`: the flag is set at run time and the
 * `gc` function fetched from a fresh context.
 */
export function heapUsedAfterGc(): number {
  if (gc === undefined) {
    setFlagsFromString('--expose-gc');
    gc = runInNewContext('gc') as () => void;
  }
  gc();
  gc();
  return process.memoryUsage().heapUsed;
}
