// Repetitions of a live run (`--repeat N`): each repetition runs both sides, the order alternating
// (odd repetitions baseline first, even ones candidate first, so drift of the machine over the run
// does not always favour the same side). The scenario's result carries, per side, the median of each
// figure over the repetitions (percentiles and extras too: each field's own median; the latency CDFs
// and the timeline are those of the side's median-throughput repetition), so its comparison rows and
// targets are medians. The per-repetition figures, the spread (min, median, max) of each figure and of
// each paired ratio (candidate ÷ baseline within one repetition) are kept beside them.
import type { Curve, Percentiles, RepetitionFigures, Repetitions, RunSummary, SideOrder, Spread } from '../../reports/result.js';
import { round3 as r3 } from '../../reports/format.js';

export type { RepetitionFigures, Repetitions, SideOrder, Spread };


/** Repetition `rep` (from 1) runs `first` first when odd, the other side first when even. */
export const orderOf = (rep: number, first: 'baseline' | 'candidate' = 'baseline'): SideOrder =>
  (rep % 2 === 1) === (first === 'baseline') ? 'baseline-first' : 'candidate-first';

/** The figures a repetition is summarised by (RunSummary fields; names as the targets name them). */
export const FIGURES: readonly (readonly [string, (s: RunSummary) => number])[] = [
  ['outputTokPerS', (s) => s.outputTokPerS],
  ['successRate', (s) => s.successRate],
  ['requests', (s) => s.requests],
  ['ttftP50', (s) => s.ttftMs.p50],
  ['ttftP95', (s) => s.ttftMs.p95],
  ['itlP50', (s) => s.itlMs.p50],
  ['itlP95', (s) => s.itlMs.p95],
  ['e2eP50', (s) => s.e2eMs.p50],
  ['e2eP95', (s) => s.e2eMs.p95],
];

export interface RepetitionPair {
  readonly order: SideOrder;
  readonly baseline: RunSummary;
  readonly candidate: RunSummary;
}

/** Median of a non-empty list (the mean of the middle two for an even count). */
export function median(xs: readonly number[]): number {
  if (xs.length === 0) throw new Error('median of nothing');
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export function spreadOf(xs: readonly number[]): Spread {
  return { min: r3(Math.min(...xs)), median: r3(median(xs)), max: r3(Math.max(...xs)) };
}

function medianPercentiles(ps: readonly Percentiles[]): Percentiles {
  const f = (k: keyof Percentiles) => r3(median(ps.map((p) => p[k])));
  return { p50: f('p50'), p95: f('p95'), p99: f('p99'), max: f('max'), mean: f('mean') };
}

/** Each field's median over the runs; CDFs and timeline of the median-throughput run. */
export function medianSummary(runs: readonly RunSummary[]): RunSummary {
  if (runs.length === 1) return runs[0]!;
  const first = runs[0]!;
  const m = (get: (s: RunSummary) => number) => r3(median(runs.map(get)));
  const byTok = [...runs].sort((a, b) => a.outputTokPerS - b.outputTokPerS);
  const mid = byTok[Math.floor((byTok.length - 1) / 2)]!;
  const extraKeys = [...new Set(runs.flatMap((r) => Object.keys(r.extra)))].sort();
  const extra: Record<string, number> = {};
  for (const k of extraKeys) {
    const vs = runs.map((r) => r.extra[k]).filter((v): v is number => v !== undefined);
    if (vs.length > 0) extra[k] = r3(median(vs));
  }
  return {
    policy: first.policy, workers: first.workers,
    requests: m((s) => s.requests), succeeded: m((s) => s.succeeded), failed: m((s) => s.failed), rejected: m((s) => s.rejected),
    durationMs: m((s) => s.durationMs), outputTokens: m((s) => s.outputTokens), outputTokPerS: m((s) => s.outputTokPerS), successRate: m((s) => s.successRate),
    ttftMs: medianPercentiles(runs.map((r) => r.ttftMs)), itlMs: medianPercentiles(runs.map((r) => r.itlMs)),
    e2eMs: medianPercentiles(runs.map((r) => r.e2eMs)), queueMs: medianPercentiles(runs.map((r) => r.queueMs)),
    extra, cdf: mid.cdf, timeline: mid.timeline,
  };
}

const figuresOf = (s: RunSummary): Record<string, number> => Object.fromEntries(FIGURES.map(([k, get]) => [k, r3(get(s))]));

/** The median summaries of both sides and the record of every repetition. */
export function aggregateRepetitions(pairs: readonly RepetitionPair[]): { baseline: RunSummary; candidate: RunSummary; repetitions: Repetitions } {
  if (pairs.length === 0) throw new Error('no repetitions');
  const runs: RepetitionFigures[] = pairs.map((p, i) => {
    const b = figuresOf(p.baseline);
    const c = figuresOf(p.candidate);
    const ratio = Object.fromEntries(FIGURES.map(([k]) => [k, b[k] === 0 ? null : r3(c[k]! / b[k]!)]));
    return { rep: i + 1, order: p.order, baseline: b, candidate: c, ratio };
  });
  const spreadSide = (side: 'baseline' | 'candidate') => Object.fromEntries(FIGURES.map(([k]) => [k, spreadOf(runs.map((r) => r[side][k]!))]));
  const ratio = Object.fromEntries(FIGURES.map(([k]) => {
    const rs = runs.map((r) => r.ratio[k]).filter((v): v is number => v !== null && v !== undefined);
    return [k, rs.length === 0 ? null : spreadOf(rs)];
  }));
  return {
    baseline: medianSummary(pairs.map((p) => p.baseline)),
    candidate: medianSummary(pairs.map((p) => p.candidate)),
    repetitions: { count: pairs.length, runs, spread: { baseline: spreadSide('baseline'), candidate: spreadSide('candidate'), ratio } },
  };
}

/** Charts: output tok/s and ITL p95 of each side by repetition. */
export function repetitionCurves(r: Repetitions, names: { baseline: string; candidate: string }): Curve[] {
  const curve = (key: string, name: string, yLabel: string): Curve => ({
    name, xLabel: 'repetition', yLabel,
    points: r.runs.flatMap((run) => [
      { series: `baseline: ${names.baseline}`, x: run.rep, y: run.baseline[key]! },
      { series: `candidate: ${names.candidate}`, x: run.rep, y: run.candidate[key]! },
    ]),
  });
  return [curve('outputTokPerS', 'output tok/s by repetition', 'output tok/s'), curve('itlP95', 'ITL p95 by repetition', 'ITL p95 (ms)')];
}
