/** How many of each kind of resource keep the event loop alive (`TCPSocketWrap`, `FSReqCallback`, `Timeout`…). */
export type ResourceCounts = Readonly<Record<string, number>>;

/** Counts `process.getActiveResourcesInfo()` by kind. */
export function activeResources(): ResourceCounts {
  const counts: Record<string, number> = {};
  for (const kind of process.getActiveResourcesInfo()) counts[kind] = (counts[kind] ?? 0) + 1;
  return counts;
}

/**
 * The kinds of resource of which `now` has more than `baseline`, with both
 * counts, e.g. `['TCPSocketWrap 3 > 1']`; empty when nothing grew.
 *
 * @param ignore - Kinds not to compare. @default []
 */
export function resourceGrowth(
  baseline: ResourceCounts,
  now: ResourceCounts = activeResources(),
  ignore: readonly string[] = [],
): string[] {
  const grown: string[] = [];
  for (const [kind, count] of Object.entries(now)) {
    if (ignore.includes(kind)) continue;
    const before = baseline[kind] ?? 0;
    if (count > before) grown.push(`${kind} ${count} > ${before}`);
  }
  return grown;
}
