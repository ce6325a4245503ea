// Targets → the comparison table. Every summary metric gets a row (informative when no target names
// it); a row with a target says pass/fail and, when it fails, by how much.
import type { MetricKey, TargetDef } from './define.js';
import type { ResultRow, RunSummary } from '../reports/result.js';

interface MetricInfo {
  readonly label: string;
  readonly unit: string;
  readonly get: (s: RunSummary) => number;
}

const METRICS: Record<Exclude<MetricKey, `extra.${string}`>, MetricInfo> = {
  outputTokPerS: { label: 'output tok/s', unit: 'tok/s', get: (s) => s.outputTokPerS },
  successRate: { label: 'success rate', unit: '%', get: (s) => s.successRate * 100 },
  ttftP50: { label: 'TTFT p50', unit: 'ms', get: (s) => s.ttftMs.p50 },
  ttftP95: { label: 'TTFT p95', unit: 'ms', get: (s) => s.ttftMs.p95 },
  itlP50: { label: 'ITL p50', unit: 'ms', get: (s) => s.itlMs.p50 },
  itlP95: { label: 'ITL p95', unit: 'ms', get: (s) => s.itlMs.p95 },
  e2eP50: { label: 'E2E p50', unit: 'ms', get: (s) => s.e2eMs.p50 },
  e2eP95: { label: 'E2E p95', unit: 'ms', get: (s) => s.e2eMs.p95 },
  queueP95: { label: 'queue wait p95', unit: 'ms', get: (s) => s.queueMs.p95 },
};

function info(metric: MetricKey): MetricInfo {
  if (metric.startsWith('extra.')) {
    const key = metric.slice('extra.'.length);
    return { label: key, unit: '', get: (s) => s.extra[key] ?? 0 };
  }
  return METRICS[metric as keyof typeof METRICS];
}

export function buildRows(baseline: RunSummary | null, candidate: RunSummary, targets: readonly TargetDef[], report: readonly MetricKey[] = []): ResultRow[] {
  const keys: MetricKey[] = [...(Object.keys(METRICS) as MetricKey[])];
  for (const t of targets) if (!keys.includes(t.metric)) keys.push(t.metric);
  for (const m of report) if (!keys.includes(m)) keys.push(m);
  const rows: ResultRow[] = [];
  for (const metric of keys) {
    const m = info(metric);
    const b = baseline === null ? null : round(m.get(baseline));
    const c = round(m.get(candidate));
    const ratio = b === null || b === 0 ? null : round(c / b, 4);
    const ts = targets.filter((t) => t.metric === metric);
    if (ts.length === 0) {
      rows.push({ metric: m.label, unit: m.unit, baseline: b, candidate: c, ratio, target: null, pass: null, shortfall: null });
      continue;
    }
    for (const t of ts) rows.push({ metric: m.label, unit: m.unit, baseline: b, candidate: c, ratio, ...judge(t, c, ratio, m.unit) });
  }
  return rows;
}

function judge(t: TargetDef, value: number, ratio: number | null, unit: string): Pick<ResultRow, 'target' | 'pass' | 'shortfall'> {
  const u = unit === '' ? '' : ` ${unit}`;
  switch (t.kind) {
    case 'ratio-min': {
      const pass = ratio !== null && ratio >= t.value;
      return { target: `≥ ${t.value.toFixed(2)}× baseline`, pass, shortfall: pass ? null : ratio === null ? 'no baseline value' : `ratio ${ratio.toFixed(3)}, needs ${t.value.toFixed(2)} (${pctOff(ratio, t.value)})` };
    }
    case 'ratio-max': {
      const pass = ratio !== null && ratio <= t.value;
      return { target: `≤ ${t.value.toFixed(2)}× baseline`, pass, shortfall: pass ? null : ratio === null ? 'no baseline value' : `ratio ${ratio.toFixed(3)}, must be ≤ ${t.value.toFixed(2)} (${pctOff(ratio, t.value)})` };
    }
    case 'max': {
      const pass = value <= t.value;
      return { target: `≤ ${t.value}${u}`, pass, shortfall: pass ? null : `${value}${u} exceeds ${t.value}${u} by ${round(value - t.value)}${u}` };
    }
    case 'min': {
      const pass = value >= t.value;
      return { target: `≥ ${t.value}${u}`, pass, shortfall: pass ? null : `${value}${u} is ${round(t.value - value)}${u} short of ${t.value}${u}` };
    }
  }
}

function pctOff(actual: number, wanted: number): string {
  const d = ((actual - wanted) / wanted) * 100;
  return `${d >= 0 ? '+' : '−'}${Math.abs(d).toFixed(1)} %`;
}

function round(x: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
