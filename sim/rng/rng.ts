// Seeded randomness. One seed per run; every component draws from its own stream derived from the
// run seed and the component's name (deriveRng(seed, 'workload')), so adding a draw in one component
// never shifts another's stream. The generator is seedrandom's Alea (fast, good statistical quality).
// Returns core's Rng: () => number in [0, 1).
import seedrandom from 'seedrandom';
import type { Rng } from '../../core/types.js';

export type { Rng };
export type Seed = string | number;

/** The seed string of a named component stream of a run. */
export function deriveSeed(seed: Seed, component: string): string {
  if (component.length === 0) throw new Error('deriveSeed: component name must be non-empty');
  return `${String(seed)}/${component}`;
}

/** The random stream of a named component of a run with `seed`. Same inputs, same stream. */
export function deriveRng(seed: Seed, component: string): Rng {
  const prng = seedrandom.alea(deriveSeed(seed, component));
  return () => prng();
}
