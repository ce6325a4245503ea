// `--mode both`: the simulator with this machine's calibrated `local` profile, on the same scaled
// workload and batch limit as the live run, beside the live run; the error of sim against live for
// throughput, TTFT p50/p95 and ITL p50/p95 (error = (sim − live) ÷ live), for both policy sets.
import { loadLocalLatencyModel, type LocalLatencyModel } from '../../sim/latency/local-latency.js';
import { parseAdmitGroup } from '../../core/scheduling/admit-group.js';
import { parseContextBuckets } from '../../core/scheduling/context-buckets.js';
import type { ScenarioDef } from '../define.js';
import type { RunSummary, ScenarioResult } from '../../reports/result.js';
import { runPolicySet } from '../sim-run.js';
import { buildRows } from '../targets.js';
import { LiveRunError } from '../../live/shared/processes.js';
import { liveMaxSequences, liveSection, liveWorkload } from './scale.js';
import { runtimeBuckets } from './runtime-env.js';
import { round3 as r3 } from '../../reports/format.js';

export const DEFAULT_PROFILE_DIR = 'reports/out/calibration';
export const profilePathFor = (size: string) => `${DEFAULT_PROFILE_DIR}/local-${size}.json`;

export function loadProfileFor(def: ScenarioDef, path: string | undefined): LocalLatencyModel {
  const size = liveSection(def).model;
  const p = path ?? profilePathFor(size);
  let m: LocalLatencyModel;
  try {
    m = loadLocalLatencyModel(p);
  } catch (e) {
    throw new LiveRunError('input', `no usable local profile at ${p} (${(e as Error).message}${(e as Error).cause instanceof Error ? `: ${((e as Error).cause as Error).message}` : ''}); run \`npm run calibrate -- --size ${size}\` first`);
  }
  if (!m.profile.model.id.endsWith(size)) throw new LiveRunError('input', `local profile ${p} was measured on model ${m.profile.model.id}, but ${def.name} runs live on ${size}`);
  return m;
}

/** MLX_RUNTIME_CONTEXT_BUCKETS as the runtime reads it ('1024,4096'; unset or empty: one batch). */
export function contextBucketsOf(text: string | undefined): readonly number[] {
  try {
    return parseContextBuckets(text);
  } catch (e) {
    throw new LiveRunError('input', `MLX_RUNTIME_CONTEXT_BUCKETS: ${(e as Error).message}`);
  }
}

/** MLX_RUNTIME_ADMIT_GROUP as the runtime reads it ('4:200'; unset or empty: at once). */
export function admitGroupOf(text: string | undefined) {
  try {
    return parseAdmitGroup(text);
  } catch (e) {
    throw new LiveRunError('input', `MLX_RUNTIME_ADMIT_GROUP: ${(e as Error).message}`);
  }
}

/**
 * The scenario in sim with the local profile, on the live-scaled workload. `baselineLatency`, if given,
 * is the baseline's own profile (e.g. `calibrate --cudnn-attention mlx`: the runtime with MLX's cuDNN
 * attention on, as mlx_lm.server ships, where the candidate's runtime turns it off); else both sides use `latency`.
 */
export function runScenarioSimLocal(def: ScenarioDef, latency: LocalLatencyModel, seed = def.seed, baselineLatency?: LocalLatencyModel): ScenarioResult {
  const workload = liveWorkload(def);
  // The loops the live run uses: the baseline's flags (servers.ts) and the runtime's step loop (the
  // runtime reads MLX_RUNTIME_SCHEDULER; its default is batch-generator).
  const scheduler = process.env.MLX_RUNTIME_SCHEDULER === 'planner' ? 'planner' : 'batch-generator';
  const contextBuckets = contextBucketsOf(runtimeBuckets(def).value);
  const admitGroup = admitGroupOf(process.env.MLX_RUNTIME_ADMIT_GROUP);
  const over = { workload, latency, maxSequences: liveMaxSequences(def), liveLoops: { candidateScheduler: scheduler, contextBuckets, admitGroup } as const };
  const baseline = runPolicySet(def, def.baseline, seed, baselineLatency === undefined ? over : { ...over, latency: baselineLatency }).summary;
  const candidate = runPolicySet(def, def.candidate, seed, over).summary;
  const rows = buildRows(baseline, candidate, def.targets);
  return {
    scenario: def.name, title: `${def.title} (sim, local profile)`, description: def.description, mode: 'sim', seed,
    baseline, candidate, rows, curves: [], capacity: [], passed: rows.every((r) => r.pass !== false),
    notes: [`Simulated with the local profile ${latency.id} (${latency.profile.source})${baselineLatency === undefined ? '' : `, the baseline with ${baselineLatency.id} (${baselineLatency.profile.source})`} on the live-scaled workload.`],
  };
}

export interface ErrorRow {
  readonly policy: 'baseline' | 'candidate';
  readonly metric: string;
  readonly sim: number;
  readonly live: number;
  /** (sim − live) ÷ live; null when live is 0. */
  readonly error: number | null;
}

const COMPARED: readonly [string, (s: RunSummary) => number][] = [
  ['output tok/s', (s) => s.outputTokPerS],
  ['TTFT p50 (ms)', (s) => s.ttftMs.p50],
  ['TTFT p95 (ms)', (s) => s.ttftMs.p95],
  ['ITL p50 (ms)', (s) => s.itlMs.p50],
  ['ITL p95 (ms)', (s) => s.itlMs.p95],
];

export function simVsLive(sim: ScenarioResult, live: ScenarioResult): ErrorRow[] {
  const rows: ErrorRow[] = [];
  for (const policy of ['baseline', 'candidate'] as const) {
    const s = sim[policy];
    const l = live[policy];
    if (s === null || l === null) continue;
    for (const [metric, get] of COMPARED) {
      const a = get(s);
      const b = get(l);
      rows.push({ policy, metric, sim: r3(a), live: r3(b), error: b === 0 ? null : r3((a - b) / b) });
    }
  }
  return rows;
}

export function renderErrorTable(scenario: string, rows: readonly ErrorRow[]): string {
  const lines = [`sim (local profile) vs live — ${scenario}`, `| policy | metric | sim | live | error |`, `|---|---|---:|---:|---:|`];
  for (const r of rows) lines.push(`| ${r.policy} | ${r.metric} | ${r.sim} | ${r.live} | ${r.error === null ? 'n/a' : `${(r.error * 100).toFixed(1)} %${Math.abs(r.error) <= 0.1 ? '' : ' (> 10 %)'}`} |`);
  return lines.join('\n');
}
