// The candidate runtime's loop settings a live section asks for, as the runtime reads them: today its
// context buckets (MLX_RUNTIME_CONTEXT_BUCKETS, python/mlx_runtime/length_buckets.py). The
// environment wins: a caller who set the variable (empty: one batch) gets exactly that, on the
// runtime and in `--mode both`'s simulation alike. The baseline (mlx_lm.server) is never given it.
import type { ScenarioDef } from '../define.js';

export const BUCKETS_VAR = 'MLX_RUNTIME_CONTEXT_BUCKETS';

export interface RuntimeBuckets {
  /** The variable's value for the runtime ('' = one batch). */
  readonly value: string;
  readonly source: 'environment' | 'scenario' | 'default';
}

/** Which context buckets the candidate's runtime runs with, and why. */
export function runtimeBuckets(def: ScenarioDef, env: NodeJS.ProcessEnv = process.env): RuntimeBuckets {
  const set = env[BUCKETS_VAR];
  if (set !== undefined) return { value: set, source: 'environment' };
  const own = def.live?.contextBuckets;
  if (own !== undefined && own.length > 0) return { value: own.join(','), source: 'scenario' };
  return { value: '', source: 'default' };
}

/** What the candidate's worker nodes (and so their runtimes) get on top of the inherited environment. */
export function runtimeEnv(def: ScenarioDef, env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const b = runtimeBuckets(def, env);
  return b.source === 'scenario' ? { [BUCKETS_VAR]: b.value } : {};
}

/** The report's line on it. */
export function runtimeBucketsNote(def: ScenarioDef, env: NodeJS.ProcessEnv = process.env): string {
  const b = runtimeBuckets(def, env);
  const what = b.value === '' ? 'one batch (no context buckets)' : `context buckets ${b.value}`;
  const why = b.source === 'environment' ? `${BUCKETS_VAR} in the environment` : b.source === 'scenario' ? 'the scenario\'s live section' : 'the runtime\'s default';
  return `Candidate runtime: ${what} (${why}).`;
}
