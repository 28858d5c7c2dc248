import { healthKey, type MirrorHealth } from './mirror-health.js';
import type { Source } from './mirror-set.js';
import type { MirrorStrategy } from './mirrors-options.js';

/** What ranking reads besides the sources. */
export interface RankContext {
  readonly health: MirrorHealth;
  readonly strategy: MirrorStrategy;
  readonly preferLocations: ReadonlySet<string>;
  readonly random: () => number;
}

/** Even the slowest healthy mirror keeps this share of the best one's weight, so it is measured again. */
const EXPLORE_FLOOR = 0.05;

/**
 * Orders the sources to try. Mirrors on cool-down always come last (by the
 * time left), as a last resort rather than never. Healthy ones come in
 * list order under `failover`; under `spread` they are drawn at random,
 * weighted by measured throughput over transfers in flight, so load follows
 * speed without starving anyone of the chance to prove faster.
 */
export function rankSources(sources: readonly Source[], context: RankContext): Source[] {
  const now = Date.now();
  const { health } = context;
  const cooling = sources
    .filter((s) => health.coolingFor(healthKey(s), now) > 0)
    .sort((a, b) => health.coolingFor(healthKey(a), now) - health.coolingFor(healthKey(b), now));
  const healthy = sources.filter((s) => health.coolingFor(healthKey(s), now) === 0);
  const ordered =
    context.strategy === 'spread' ? drawn(healthy, context) : inOrder(healthy, context);
  return [...ordered, ...cooling];
}

function inOrder(sources: readonly Source[], context: RankContext): Source[] {
  const preferred = (s: Source) =>
    s.mirror.location !== undefined && context.preferLocations.has(s.mirror.location) ? 0 : 1;
  return [...sources].sort(
    (a, b) =>
      preferred(a) - preferred(b) ||
      a.mirror.priority - b.mirror.priority ||
      a.mirror.order - b.mirror.order,
  );
}

function drawn(sources: readonly Source[], context: RankContext): Source[] {
  const { health } = context;
  const rates = sources.map((s) => health.rate(healthKey(s)));
  const known = rates.filter((r): r is number => r !== undefined);
  // An unmeasured mirror is assumed as fast as the best: it gets tried and measured.
  const best = known.length > 0 ? Math.max(...known) : 1;
  const weights = sources.map((s, i) => {
    const busy = health.inFlight(s.url.origin);
    // An unmeasured mirror is probed one transfer at a time until its first one tells its pace.
    const assumed = rates[i] ?? (busy > 0 ? 0 : best);
    return Math.max(assumed, EXPLORE_FLOOR * best) / (busy + 1);
  });
  const left = sources.map((source, i) => ({ source, weight: weights[i]! }));
  const out: Source[] = [];
  while (left.length > 0) {
    const total = left.reduce((sum, e) => sum + e.weight, 0);
    let point = context.random() * total;
    let index = left.findIndex((e) => (point -= e.weight) < 0);
    if (index === -1) index = left.length - 1;
    out.push(left.splice(index, 1)[0]!.source);
  }
  return out;
}
