// The spread of a capacity answer across seeds: the same question (workload, SLO, latency model) asked
// again with other seeds, i.e. other draws of arrivals and lengths. One seed's answer is one sample of
// a random quantity; its spread says how many of its digits to believe.
// Each extra search starts from the first seed's answer (planCapacity's `hint`) and stops within
// `relativeTolerance` of its own answer, so a seed costs a few simulations, not a full search.
// Caveat, measured: meeting the SLO is not monotone in the worker count at a few %. For capacity-small
// under seed 902 the trials read 169 ✓, 171 ✗, 172 ✓, 177 ✗, 180 ✗, 181 ✓. So a bisection's answer
// also depends on its path (from the hint: 169; from the lower bound: 181), and the spread holds both
// effects. Deciding each candidate over several seeds together would smooth it (not done).
import { planCapacity, type CapacityAnswer, type CapacityQuery } from './planner.js';

/** Bound on seeds per answer. */
export const SEEDS_MAX = 32;

export interface SeedSpread {
  /** The seeds, the query's own first. */
  readonly seeds: readonly number[];
  /** Workers needed under each seed (null: none up to workersMax). */
  readonly workers: readonly (number | null)[];
  /** Over the seeds with an answer; null when none has one. */
  readonly min: number | null;
  readonly median: number | null;
  readonly max: number | null;
}

/** The seeds of a spread: the query's seed, then seed + 1, seed + 2, … (count in all). */
export function spreadSeeds(seed: number, count: number): number[] {
  if (!Number.isInteger(count) || count < 1 || count > SEEDS_MAX) throw new Error(`seed spread: count must be an integer in [1, ${SEEDS_MAX}], got ${count}`);
  return Array.from({ length: count }, (_, k) => seed + k);
}

/** `q` searched from `hint` (a related answer) to within `relativeTolerance`; unchanged when there is no hint. */
export function hinted(q: CapacityQuery, hint: number | null, relativeTolerance: number): CapacityQuery {
  return { ...q, ...(hint !== null && { hint, relativeTolerance }) };
}

/**
 * Answers `q` under every seed of `seeds` (the first must be q.seed, answered already as `first`).
 * `relativeTolerance` as in CapacityQuery (0: exact).
 */
export function seedSpread(q: CapacityQuery, first: CapacityAnswer, seeds: readonly number[], relativeTolerance = 0): SeedSpread {
  if (seeds[0] !== q.seed) throw new Error(`seed spread: the first seed must be the query's (${q.seed}), got ${seeds[0]}`);
  const workers = seeds.map((seed, k) => {
    if (k === 0) return first.workers;
    return planCapacity(hinted({ ...q, seed }, first.workers, relativeTolerance)).workers;
  });
  return spreadOf(seeds, workers);
}

/** The spread of answers already found: `workers[k]` under `seeds[k]` (also for searches run elsewhere, e.g. on worker threads). */
export function spreadOf(seeds: readonly number[], workers: readonly (number | null)[]): SeedSpread {
  if (seeds.length !== workers.length) throw new Error(`seed spread: ${seeds.length} seeds but ${workers.length} answers`);
  const found = workers.filter((w): w is number => w !== null).sort((a, b) => a - b);
  const median = found.length === 0 ? null : found.length % 2 === 1 ? found[(found.length - 1) / 2]! : Math.round((found[found.length / 2 - 1]! + found[found.length / 2]!) / 2);
  return { seeds, workers, min: found[0] ?? null, median, max: found[found.length - 1] ?? null };
}
