// The repetitions table of a live run with `--repeat N` (scenarios/live/repeat.ts): per figure and
// side (and the paired candidate ÷ baseline ratio), each repetition's value, then min, median, max.
// Also the line naming the live profile, model and devices.

import type { ScenarioResult } from './result.js';
import { formatNumber, formatRate, formatRatio } from './format.js';
import type { Table } from './tables.js';

const LABELS: Readonly<Record<string, string>> = {
  outputTokPerS: 'output tok/s', successRate: 'success rate', requests: 'requests', ttftP50: 'TTFT p50 (ms)', ttftP95: 'TTFT p95 (ms)',
  itlP50: 'ITL p50 (ms)', itlP95: 'ITL p95 (ms)', e2eP50: 'E2E p50 (ms)', e2eP95: 'E2E p95 (ms)',
};

/** "live profile gpu (…), model gpu-1b; MLX device: baseline …, candidate …", or null for sim results. */
export function liveInfoText(result: ScenarioResult): string | null {
  const l = result.live;
  if (l === undefined) return null;
  return `live profile ${l.profile} (${l.profileReason}), model ${l.model}; MLX device: baseline ${l.devices.baseline}, candidate ${l.devices.candidate}; ${l.repetitions.count} repetition(s)`;
}

/** Failed and rejected requests by code, per side (live runs that had any); null otherwise. */
export function errorCodesTable(result: ScenarioResult): Table | null {
  const e = result.live?.errors;
  if (e === undefined || (e.baseline.length === 0 && e.candidate.length === 0)) return null;
  const rows: string[][] = [];
  for (const side of ['baseline', 'candidate'] as const) {
    for (const c of e[side]) rows.push([side, c.code, String(c.failed), String(c.rejected), String(c.failed + c.rejected)]);
  }
  return { header: ['side', 'code', 'failed', 'rejected', 'total'], align: ['left', 'left', 'right', 'right', 'right'], rows, failing: rows.map(() => false) };
}

export function repetitionsTable(result: ScenarioResult): Table | null {
  const r = result.live?.repetitions;
  if (r === undefined || r.count < 2) return null;
  const reps = r.runs.map((x) => `rep ${x.rep} (${x.order === 'baseline-first' ? 'b→c' : 'c→b'})`);
  const rows: string[][] = [];
  for (const key of Object.keys(r.spread.baseline)) {
    const fmt = key === 'successRate' ? formatRate : formatNumber; // a 0..1 fraction
    for (const side of ['baseline', 'candidate'] as const) {
      const s = r.spread[side][key]!;
      rows.push([LABELS[key] ?? key, side, ...r.runs.map((x) => fmt(x[side][key] ?? null)), fmt(s.min), fmt(s.median), fmt(s.max)]);
    }
    const s = r.spread.ratio[key];
    rows.push([LABELS[key] ?? key, 'ratio', ...r.runs.map((x) => formatRatio(x.ratio[key] ?? null)), formatRatio(s?.min ?? null), formatRatio(s?.median ?? null), formatRatio(s?.max ?? null)]);
  }
  return {
    header: ['figure', 'side', ...reps, 'min', 'median', 'max'],
    align: ['left', 'left', ...reps.map(() => 'right' as const), 'right', 'right', 'right'],
    rows,
    failing: rows.map(() => false),
  };
}
