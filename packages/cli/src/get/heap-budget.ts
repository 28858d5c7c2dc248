import { PerformanceObserver } from 'node:perf_hooks';
import { getHeapSpaceStatistics, setFlagsFromString } from 'node:v8';

/**
 * The most each of V8's two semi-spaces (the young generation) may hold. V8
 * grows them to 16 MiB each (32 MiB resident) under a steady allocation
 * rate; capped at 4 MiB, more frequent scavenges cost a few percent of CPU
 * (1 MiB: about 15 %) for 24 MiB less memory.
 */
export const MAX_SEMI_SPACE_BYTES = 4 * 1024 * 1024;

let bounded = false;

/**
 * Keeps a `dl get` process's memory flat however long its manifest: the
 * live heap of a run is small (15 MB, most of it code) and does not grow
 * with the number of lines, but V8's defaults let the resident size reach
 * 150 MB around it. Three settings, for the whole process, once:
 *
 * - WebAssembly stays on its baseline compiler (`--liftoff-only`): undici's
 *   HTTP parser is WebAssembly, and optimising it in the background holds
 *   35 MB for a few seconds, which is the peak of a short run. The baseline
 *   code is slower, but the parser is 2 % of a run's CPU, and the optimising
 *   compile it saves costs more than that on runs under ~50,000 files.
 * - The old generation is collected once it grew 8 MB past what was live
 *   after the last collection (`--heap-growing-percent=50`, whose floor is
 *   V8's minimum step of 8 MB) instead of up to four times the live size.
 * - The young generation stops growing at {@link MAX_SEMI_SPACE_BYTES} per
 *   semi-space. V8 fixes its maximum when the process starts, so the cap is
 *   the growth factor, read at each growth: 2 while below, 1 at the cap
 *   (and 2 again should V8 shrink it after an idle spell).
 *
 * Only for a process the run owns (`CliIo.boundHeap`): these change V8 for
 * everything else in it.
 */
export function boundHeap(): void {
  if (bounded) return;
  bounded = true;
  setFlagsFromString('--liftoff-only');
  setFlagsFromString('--heap-growing-percent=50');
  let atCap = false;
  const follow = () => {
    const full = newSpaceBytes() >= 2 * MAX_SEMI_SPACE_BYTES;
    if (full === atCap) return;
    atCap = full;
    setFlagsFromString(`--semi-space-growth-factor=${full ? 1 : 2}`);
  };
  follow();
  // The young generation grows only in a garbage collection: look after each.
  new PerformanceObserver(follow).observe({ entryTypes: ['gc'] });
}

/** The young generation's size: both semi-spaces. */
function newSpaceBytes(): number {
  for (const space of getHeapSpaceStatistics()) {
    if (space.space_name === 'new_space') return space.space_size;
  }
  return 0;
}
