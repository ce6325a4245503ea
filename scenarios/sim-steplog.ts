// The simulated worker's step figures for committed live runs, to set beside their step logs
// (python/mlx_runtime/steplog.py; scripts/gpu/steplog_summary.py prints the live side):
//
//   MLX_RUNTIME_CONTEXT_BUCKETS=1024,4096 npx tsx scenarios/sim-steplog.ts --profile PROFILE.json RUN_DIR…
//
// Each run is simulated as scenarios/sim-vs-live.ts does. Per side, over the steady part (10 s after the
// first step to 10 s before the last): loop iterations and bucket passes per 2 s (the step log counts
// each bucket's pass as a step; without buckets an iteration is one pass), wall ms per pass, iteration
// p50/p95, decode batch per pass, the share of iterations that carried prompt tokens, prompt tokens per
// 2 s, prompts waiting, padded/real KV. A diagnostic: it wraps the worker's private step start.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { SimWorker } from '../sim/worker/worker.js';
import type { ScenarioResult } from '../reports/result.js';
import type { ModelSize } from '../live/shared/model.js';
import { findScenario } from './catalog/index.js';
import { loadProfileFor, runScenarioSimLocal } from './live/compare.js';
import { withLiveSection } from './live/profile.js';

interface Rec { t: number; ms: number; passes: number; rows: number; padded: number; real: number; prefillTokens: number; waiting: number }
interface WorkerView {
  stateNow: string; stepStartMs: number; paddedBuckets: readonly number[] | undefined; bucketCount: number[]; bucketLongest: number[];
  decodingCount: number; totalContext: number; stepPrefillTokens: number; queuedLive: number;
  startStep(nowMs: number, out: unknown): number;
}

let sink: Rec[] = [];
const proto = SimWorker.prototype as unknown as WorkerView;
const startStep = proto.startStep;
proto.startStep = function (this: WorkerView, nowMs: number, out: unknown): number {
  const wake = startStep.call(this, nowMs, out);
  if (this.stateNow !== 'busy' || this.stepStartMs !== nowMs) return wake;
  let passes = 0;
  let padded = 0;
  if (this.paddedBuckets !== undefined) {
    for (let b = 0; b <= this.paddedBuckets.length; b++) {
      const n = this.bucketCount[b] ?? 0;
      if (n === 0) continue;
      passes++;
      padded += n * this.bucketLongest[b]!;
    }
  }
  sink.push({ t: nowMs, ms: wake - nowMs, passes: Math.max(1, passes), rows: this.decodingCount, padded, real: this.totalContext, prefillTokens: this.stepPrefillTokens, waiting: this.queuedLive });
  return wake;
};

function summarize(label: string, recs: readonly Rec[]): string {
  if (recs.length === 0) return `${label}: no steps`;
  const t0 = recs[0]!.t + 10_000;
  const t1 = recs[recs.length - 1]!.t - 10_000;
  const s = recs.filter((r) => r.t >= t0 && r.t <= t1);
  const secs = (t1 - t0) / 1000;
  const passes = s.reduce((a, r) => a + r.passes, 0);
  const ms = s.map((r) => r.ms).sort((a, b) => a - b);
  const q = (p: number) => ms[Math.min(ms.length - 1, Math.floor(p * ms.length))]!.toFixed(1);
  const sum = (f: (r: Rec) => number) => s.reduce((a, r) => a + f(r), 0);
  return `${label}: iterations/2s ${((2 * s.length) / secs).toFixed(1)}; passes/2s ${((2 * passes) / secs).toFixed(1)}; ms/pass (wall) ${((1000 * secs) / passes).toFixed(1)}; `
    + `iteration p50 ${q(0.5)}, p95 ${q(0.95)}; batch/pass ${(sum((r) => r.rows) / passes).toFixed(1)}; prompt-bearing share of iterations ${(s.filter((r) => r.prefillTokens > 0).length / s.length).toFixed(2)}; `
    + `prompt tokens/2s ${((2 * sum((r) => r.prefillTokens)) / secs).toFixed(0)}; waiting ${(sum((r) => r.waiting) / s.length).toFixed(1)}; padded/real ${(sum((r) => r.padded) / Math.max(1, sum((r) => r.real))).toFixed(2)}`;
}

function main(): void {
  const { values, positionals } = parseArgs({ options: { profile: { type: 'string' } }, allowPositionals: true });
  if (values.profile === undefined || positionals.length === 0) throw new Error('usage: tsx scenarios/sim-steplog.ts --profile PROFILE.json RUN_DIR…');
  for (const dir of positionals) {
    const runs = (JSON.parse(readFileSync(join(dir, 'results.json'), 'utf8')) as ScenarioResult[]).filter((r) => r.mode === 'live');
    for (const live of runs) {
      const def = withLiveSection(findScenario(live.scenario)!, live.live?.profile ?? 'cpu', { ...(live.live?.model !== undefined && { model: live.live.model as ModelSize }) });
      const latency = loadProfileFor(def, values.profile);
      const bySide: Rec[][] = [];
      // runScenarioSimLocal runs the baseline, then the candidate: a side ends where simulated time restarts
      sink = [];
      const res = runScenarioSimLocal(def, latency, live.seed);
      let cur: Rec[] = [];
      let last = -Infinity;
      for (const r of sink) {
        if (r.t < last - 1000) {
          bySide.push(cur);
          cur = [];
        }
        cur.push(r);
        last = r.t;
      }
      bySide.push(cur);
      console.log(`${live.scenario} (sim: baseline ${res.baseline!.outputTokPerS.toFixed(0)} tok/s, candidate ${res.candidate!.outputTokPerS.toFixed(0)} tok/s)`);
      console.log(`  ${summarize('baseline', bySide[0] ?? [])}`);
      console.log(`  ${summarize('candidate', bySide[1] ?? [])}`);
    }
  }
}

main();
