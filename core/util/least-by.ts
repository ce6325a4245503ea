// The one "least loaded" rule: the item with the lowest score. Used by the gateway's routing fallback
// (core/routing/policy.ts leastLoaded: fraction of slots in use) and by the worker node's choice of a
// runtime process (live/worker/runtime-pool.ts: sequences in flight, least recently used on a tie).

/**
 * The item with the lowest finite score; undefined when there is none. On equal scores `before(a, b)`
 * says whether a wins over the one held; without it the earlier item stays (stable, deterministic).
 */
export function leastBy<T>(items: Iterable<T>, score: (t: T) => number, before?: (a: T, b: T) => boolean): T | undefined {
  let best: T | undefined;
  let bestScore = Number.POSITIVE_INFINITY;
  for (const t of items) {
    const s = score(t);
    if (s < bestScore || (s === bestScore && best !== undefined && before !== undefined && before(t, best))) {
      best = t;
      bestScore = s;
    }
  }
  return best;
}
