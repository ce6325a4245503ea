// The tables of a report as plain data (header + formatted cells), rendered alike by markdown.ts and
// html.ts: the comparison table, the run summaries, the capacity table and the all-scenarios summary.

import type { CapacityRow, ResultRow, RunSummary, ScenarioResult } from './result.js';
import { formatMs, formatNumber, formatPass, formatRate, formatRatio, formatTokPerS, formatValue } from './format.js';

export type Align = 'left' | 'right';

export interface Table {
  readonly header: readonly string[];
  readonly align: readonly Align[];
  readonly rows: readonly (readonly string[])[];
  /** Per row: true marks a failing row (highlighted in HTML). */
  readonly failing: readonly boolean[];
}

export function comparisonTable(rows: readonly ResultRow[]): Table {
  return {
    header: ['metric', 'unit', 'baseline', 'candidate', 'ratio', 'target', 'pass/fail', 'shortfall'],
    align: ['left', 'left', 'right', 'right', 'right', 'left', 'left', 'left'],
    rows: rows.map((r) => [
      r.metric,
      r.unit,
      formatValue(r.baseline, r.unit),
      formatValue(r.candidate, r.unit),
      formatRatio(r.ratio),
      r.target ?? '—',
      formatPass(r.pass),
      r.shortfall ?? '',
    ]),
    failing: rows.map((r) => r.pass === false),
  };
}

/** Baseline and candidate side by side: who ran, how much, how fast. */
export function runsTable(result: ScenarioResult): Table {
  const runs: [string, RunSummary][] = [];
  if (result.baseline !== null) runs.push(['baseline', result.baseline]);
  runs.push(['candidate', result.candidate]);
  return {
    header: ['run', 'policy', 'workers', 'requests', 'succeeded', 'failed', 'rejected', 'success', 'output tok/s', 'TTFT p50', 'TTFT p95', 'ITL p95', 'E2E p95', 'queue p95'],
    align: ['left', 'left', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right', 'right'],
    rows: runs.map(([role, s]) => [
      role,
      s.policy,
      formatNumber(s.workers),
      formatNumber(s.requests),
      formatNumber(s.succeeded),
      formatNumber(s.failed),
      formatNumber(s.rejected),
      formatRate(s.successRate),
      formatTokPerS(s.outputTokPerS),
      formatMs(s.ttftMs.p50),
      formatMs(s.ttftMs.p95),
      formatMs(s.itlMs.p95),
      formatMs(s.e2eMs.p95),
      formatMs(s.queueMs.p95),
    ]),
    failing: runs.map(() => false),
  };
}

export function capacityTable(rows: readonly CapacityRow[]): Table {
  return {
    header: ['use case', 'model', 'hardware', 'target RPS', "document's workers", 'formula workers (+headroom)', 'simulated workers', 'calibration', 'band (other calibrations; lower bound)', 'sensitivity (±20 %)', 'across seeds (min–median–max)', 'sim TTFT p95', 'sim ITL p95', 'roofline decode tok/s', 'note'],
    align: ['left', 'left', 'left', 'right', 'right', 'right', 'right', 'left', 'left', 'left', 'right', 'right', 'right', 'right', 'left'],
    rows: rows.map((c) => [
      c.useCase,
      c.model,
      c.hardware,
      formatNumber(c.targetRps),
      formatNumber(c.documentWorkers),
      `${formatNumber(c.formulaWorkers)} (${formatNumber(c.formulaWorkersWithHeadroom)})`,
      formatNumber(c.simulatedWorkers),
      c.calibration === undefined ? '—' : `${c.calibration.runtime}: ${c.calibration.why}`,
      c.bands === undefined ? '—' : c.bands.map((b) => `${b.calibration} ${formatNumber(b.workers)}`).join('; '),
      c.sensitivity === undefined ? '—' : c.sensitivity.map((x) => `${x.assumption}: ${formatNumber(x.workers)}`).join('; '),
      c.seedSpread === undefined ? '—' : `${formatNumber(c.seedSpread.min)}–${formatNumber(c.seedSpread.median)}–${formatNumber(c.seedSpread.max)} (${c.seedSpread.seeds.length} seeds)`,
      formatMs(c.simulatedTtftP95Ms),
      formatMs(c.simulatedItlP95Ms),
      formatValue(c.rooflineDecodeTokPerS, 'tok/s'),
      c.note,
    ]),
    failing: rows.map(() => false),
  };
}

/**
 * The row a scenario is summed up by: the first row that has both a target and a ratio, else the
 * first row with a ratio; null when no row has a ratio.
 */
export function headlineRow(result: ScenarioResult): ResultRow | null {
  return result.rows.find((r) => r.target !== null && r.ratio !== null) ?? result.rows.find((r) => r.ratio !== null) ?? null;
}

export function headlineText(result: ScenarioResult): string {
  const row = headlineRow(result);
  return row === null ? '—' : `${row.metric} ${formatRatio(row.ratio)}`;
}

/** "PASS — 3 of 3 targets met" / "FAIL — 1 of 3 targets missed: ttft p95". */
export function verdictText(result: ScenarioResult): string {
  const gated = result.rows.filter((r) => r.pass !== null);
  const missed = gated.filter((r) => r.pass === false);
  const verdict = result.passed ? 'PASS' : 'FAIL';
  if (gated.length === 0) return `${verdict} — no gated targets`;
  if (missed.length === 0) return `${verdict} — ${gated.length} of ${gated.length} targets met`;
  return `${verdict} — ${missed.length} of ${gated.length} targets missed: ${missed.map((r) => r.metric).join(', ')}`;
}

export function summaryTable(results: readonly ScenarioResult[]): Table {
  return {
    header: ['scenario', 'title', 'mode', 'result', 'headline ratio'],
    align: ['left', 'left', 'left', 'left', 'left'],
    rows: results.map((r) => [r.scenario, r.title, r.mode, r.passed ? '✓ PASS' : '✗ FAIL', headlineText(r)]),
    failing: results.map((r) => !r.passed),
  };
}
