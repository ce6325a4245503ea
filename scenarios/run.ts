// Runs one scenario in sim mode and assembles its ScenarioResult: baseline and candidate with the
// same seed and workload in the same invocation, the sweep curve, capacity answers, and the table.
import type { ScenarioDef } from './define.js';
import type { ScenarioResult } from '../reports/result.js';
import { answerCapacity } from './capacity.js';
import { runPolicySet, runSweep } from './sim-run.js';
import { buildRows } from './targets.js';

export interface RunOptions {
  readonly seed?: number;
  /** Called after each simulated run (progress bar). */
  readonly onProgress?: (done: number, total: number) => void;
}

/** Number of simulated runs a scenario takes (for the progress bar). */
export function runCount(def: ScenarioDef): number {
  const sweepRuns = (def.sweep?.values.length ?? 0) * (def.sweep?.over === 'users' ? 2 : 1);
  return (def.capacity !== undefined ? def.capacity.length : 2) + sweepRuns;
}

/** Async because capacity questions run their extra searches on worker threads (scenarios/capacity-jobs.ts). */
export async function runScenarioSim(def: ScenarioDef, opts: RunOptions = {}): Promise<ScenarioResult> {
  const seed = opts.seed ?? def.seed;
  const total = runCount(def);
  let done = 0;
  const tick = () => opts.onProgress?.(++done, total);
  if (def.capacity !== undefined) {
    const { rows, candidate, notes } = await answerCapacity(def, seed, tick);
    return { scenario: def.name, title: def.title, description: def.description, mode: 'sim', seed, baseline: null, candidate, rows: [], curves: [], capacity: rows, passed: rows.every((r) => r.simulatedWorkers !== null), notes: [...(def.notes ?? []), ...notes] };
  }
  const baseline = runPolicySet(def, def.baseline, seed).summary;
  tick();
  const candidateRun = runPolicySet(def, def.candidate, seed);
  const candidate = candidateRun.summary;
  tick();
  const curves = [...(candidateRun.curves ?? []), ...runSweep(def, seed, tick)];
  const rows = buildRows(baseline, candidate, def.targets, def.report);
  return {
    scenario: def.name,
    title: def.title,
    description: def.description,
    mode: 'sim',
    seed,
    baseline,
    candidate,
    rows,
    curves,
    capacity: [],
    passed: rows.every((r) => r.pass !== false),
    notes: [...(def.notes ?? [])],
  };
}
