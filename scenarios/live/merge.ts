// Merges live runs of one repetition each into one result with their repetitions, as if one
// invocation with `--repeat N` had run them: the same medians, spread and paired ratios
// (aggregateRepetitions), the same rows. Used where one invocation of N repetitions does not fit a
// time limit (a device call of 10 minutes on the GPU host): run `--repeat 1` N times, alternating
// `--first`, on the same machine and settings, then merge (scenarios/merge-live.ts).
import type { ScenarioDef } from '../define.js';
import type { LiveErrorCount, ScenarioResult } from '../../reports/result.js';
import { buildRows } from '../targets.js';
import { aggregateRepetitions, repetitionCurves, type RepetitionPair } from './repeat.js';
import { sumErrorCodes } from './live-run.js';

export class MergeError extends Error {}

/** The runs must be live, of `def`, of one repetition each, on the same model, profile and devices. */
export function mergeLiveRuns(def: ScenarioDef, runs: readonly ScenarioResult[], sources: readonly string[]): ScenarioResult {
  if (runs.length < 2) throw new MergeError(`need at least 2 runs to merge, got ${runs.length}`);
  const first = runs[0]!;
  runs.forEach((r, i) => {
    const where = sources[i] ?? `run ${i + 1}`;
    if (r.mode !== 'live' || r.live === undefined) throw new MergeError(`${where}: not a live result (mode ${r.mode})`);
    if (r.scenario !== def.name) throw new MergeError(`${where}: scenario ${r.scenario}, expected ${def.name}`);
    if (r.live.repetitions.count !== 1) throw new MergeError(`${where}: ${r.live.repetitions.count} repetitions; merge runs of one repetition each`);
    if (r.baseline === null) throw new MergeError(`${where}: no baseline side`);
    for (const k of ['model', 'profile'] as const) {
      if (r.live[k] !== first.live![k]) throw new MergeError(`${where}: ${k} ${r.live[k]}, the first run has ${first.live![k]}`);
    }
    if (r.live.devices.baseline !== first.live!.devices.baseline || r.live.devices.candidate !== first.live!.devices.candidate) {
      throw new MergeError(`${where}: devices ${JSON.stringify(r.live.devices)} differ from the first run's`);
    }
    if (r.seed !== first.seed) throw new MergeError(`${where}: seed ${r.seed}, the first run has ${first.seed}`);
  });
  const pairs: RepetitionPair[] = runs.map((r) => ({ order: r.live!.repetitions.runs[0]!.order, baseline: r.baseline!, candidate: r.candidate }));
  const { baseline, candidate, repetitions } = aggregateRepetitions(pairs);
  const rows = buildRows(baseline, candidate, def.targets, def.report);
  const errors = (side: 'baseline' | 'candidate'): LiveErrorCount[] => sumErrorCodes(runs.flatMap((r) => r.live!.errors?.[side] ?? []));
  // Each run's own notes (its settings, its errors), once where they are the same, per run where not.
  const shared = first.notes.filter((n) => runs.every((r) => r.notes.includes(n)));
  const own = runs.flatMap((r, i) => r.notes.filter((n) => !shared.includes(n)).map((n) => `repetition ${i + 1}: ${n}`));
  const notes = [
    ...shared,
    `${runs.length} repetitions of each side, run as ${runs.length} invocations of one repetition each on one machine and merged (scenarios/merge-live.ts; repetition i is ${sources.join(', ')} in that order); every figure is the median of the repetitions (the CDFs and timeline: the median-throughput repetition); per-repetition figures and min/median/max below.`,
    ...own,
  ];
  return {
    scenario: def.name, title: first.title, description: first.description, mode: 'live', seed: first.seed,
    baseline, candidate, rows, curves: repetitionCurves(repetitions, { baseline: baseline.policy, candidate: candidate.policy }), capacity: [],
    passed: rows.every((r) => r.pass !== false), notes,
    live: { ...first.live!, repetitions, errors: { baseline: errors('baseline'), candidate: errors('candidate') } },
  };
}
