// Vega-Lite specs for one scenario's charts: throughput curves (one per Curve, series as colour),
// latency CDFs (TTFT, E2E, ITL; baseline vs candidate), the cache/coalescing effect (numeric extras of
// both runs, one small bar chart per key with its own scale), throughput over time and the capacity
// table as grouped bars. A chart with no data is left out. Specs carry their data inline, so each
// .vl.json file renders on its own.

import type { TopLevelSpec } from 'vega-lite';
import type { Curve, RunSummary, ScenarioResult } from './result.js';
import { formatExtra, formatNumber, uniqueSlugs } from './format.js';

export interface ChartSpec {
  /** File-name-safe id, unique within the scenario: "curve-<name>", "cdf-ttft", "extras", … */
  readonly id: string;
  readonly title: string;
  readonly spec: TopLevelSpec;
}

const SCHEMA = 'https://vega.github.io/schema/vega-lite/v6.json';
const WIDTH = 480;
const HEIGHT = 260;
const EXTRA_COLUMNS = 4;
/** Legend and axis labels are run and series names; vega's default cuts them at 160 px. */
const CONFIG = { legend: { labelLimit: 320 }, axis: { labelLimit: 240 } } as const;

/** A run as it is labelled in legends: "baseline: round-robin". */
interface LabelledRun {
  readonly label: string;
  readonly summary: RunSummary;
}

export function chartsFor(result: ScenarioResult): ChartSpec[] {
  const runs = labelledRuns(result);
  const charts: ChartSpec[] = [];
  const curveIds = uniqueSlugs(result.curves.map((c) => c.name));
  result.curves.forEach((curve, i) => {
    if (curve.points.some((p) => finite(p.x, p.y))) charts.push(curveChart(result.scenario, curve, `curve-${curveIds[i] ?? i}`));
  });
  for (const [key, label] of CDF_KINDS) {
    const chart = cdfChart(result.scenario, runs, key, label);
    if (chart !== null) charts.push(chart);
  }
  for (const chart of [extrasChart(result.scenario, runs), timelineChart(result.scenario, runs), capacityChart(result)]) {
    if (chart !== null) charts.push(chart);
  }
  return charts;
}

function labelledRuns(result: ScenarioResult): LabelledRun[] {
  const runs: LabelledRun[] = [];
  if (result.baseline !== null) runs.push({ label: `baseline: ${result.baseline.policy}`, summary: result.baseline });
  runs.push({ label: `candidate: ${result.candidate.policy}`, summary: result.candidate });
  return runs;
}

function curveChart(scenario: string, curve: Curve, id: string): ChartSpec {
  const title = `${scenario}: ${curve.name}`;
  const series = firstSeen(curve.points.map((p) => p.series));
  return {
    id,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      width: WIDTH,
      height: HEIGHT,
      data: { values: curve.points.filter((p) => finite(p.x, p.y)).map((p) => ({ series: p.series, x: p.x, y: p.y })) },
      mark: { type: 'line', point: true },
      encoding: {
        x: { field: 'x', type: 'quantitative', title: curve.xLabel },
        y: { field: 'y', type: 'quantitative', title: curve.yLabel },
        color: { field: 'series', type: 'nominal', title: 'series', sort: series },
      },
    },
  };
}

type CdfKey = keyof RunSummary['cdf'];
const CDF_KINDS: readonly (readonly [CdfKey, string])[] = [
  ['ttftMs', 'TTFT'],
  ['e2eMs', 'E2E latency'],
  ['itlMs', 'ITL'],
];

function cdfChart(scenario: string, runs: readonly LabelledRun[], key: CdfKey, label: string): ChartSpec | null {
  const values = runs.flatMap((run) => run.summary.cdf[key].filter(([ms, fraction]) => finite(ms, fraction)).map(([ms, fraction]) => ({ run: run.label, ms, fraction })));
  if (values.length === 0) return null;
  const title = `${scenario}: ${label} CDF`;
  return {
    id: `cdf-${key.replace(/Ms$/, '').toLowerCase()}`,
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: 'line', interpolate: 'step-after' },
      encoding: {
        x: { field: 'ms', type: 'quantitative', title: `${label} (ms)` },
        y: { field: 'fraction', type: 'quantitative', title: 'fraction of requests', scale: { domain: [0, 1] }, axis: { format: '%' } },
        color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map((r) => r.label) },
      },
    },
  };
}

/** Every finite numeric extra of either run, one facet per key (scales differ: counts vs rates). */
function extrasChart(scenario: string, runs: readonly LabelledRun[]): ChartSpec | null {
  const keys = firstSeen(runs.flatMap((run) => Object.keys(run.summary.extra).filter((k) => Number.isFinite(run.summary.extra[k]))));
  if (keys.length === 0) return null;
  const values = keys.flatMap((key) =>
    runs.flatMap((run) => {
      const value = run.summary.extra[key];
      if (value === undefined || !Number.isFinite(value)) return [];
      return [{ key, run: run.label, value, label: formatExtra(key, value) }];
    }),
  );
  const title = `${scenario}: cache, coalescing and other extra figures`;
  return {
    id: 'extras',
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      data: { values },
      columns: Math.min(EXTRA_COLUMNS, keys.length),
      facet: { field: 'key', type: 'nominal', title: null, sort: keys, header: { labelFontSize: 11 } },
      spec: {
        width: 110,
        height: 140,
        encoding: {
          x: { field: 'run', type: 'nominal', title: null, sort: runs.map((r) => r.label), axis: { labels: false, ticks: false } },
          y: { field: 'value', type: 'quantitative', title: null },
          color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map((r) => r.label) },
        },
        layer: [{ mark: 'bar' }, { mark: { type: 'text', dy: -5, fontSize: 10 }, encoding: { text: { field: 'label', type: 'nominal' }, color: { value: 'black' } } }],
      },
      resolve: { scale: { y: 'independent' } },
    },
  };
}

function timelineChart(scenario: string, runs: readonly LabelledRun[]): ChartSpec | null {
  const values = runs.flatMap((run) => run.summary.timeline.filter((b) => finite(b.tMs, b.outputTokPerS)).map((b) => ({ run: run.label, s: b.tMs / 1000, outputTokPerS: b.outputTokPerS, inFlight: b.inFlight })));
  if (values.length === 0) return null;
  const title = `${scenario}: throughput over time`;
  return {
    id: 'timeline',
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      width: WIDTH,
      height: HEIGHT,
      data: { values },
      mark: { type: 'line' },
      encoding: {
        x: { field: 's', type: 'quantitative', title: 'time (s)' },
        y: { field: 'outputTokPerS', type: 'quantitative', title: 'output tok/s' },
        color: { field: 'run', type: 'nominal', title: 'run', sort: runs.map((r) => r.label) },
      },
    },
  };
}

const CAPACITY_KINDS = ["document's workers", 'formula workers', 'formula + headroom', 'simulated workers', 'simulated, band low', 'simulated, band high', 'simulated, seeds low', 'simulated, seeds high'] as const;

/** Workers per use case: what the document says, the formula (and with headroom), the simulation. */
function capacityChart(result: ScenarioResult): ChartSpec | null {
  if (result.capacity.length === 0) return null;
  const useCases = result.capacity.map((c) => c.useCase);
  const labels = result.capacity.map((c) => (useCases.filter((u) => u === c.useCase).length > 1 ? `${c.useCase} (${c.model}, ${c.hardware})` : c.useCase));
  const values = result.capacity.flatMap((c, i) => {
    // The band: the fewest and most workers over the other calibrations and the ±20 % sensitivity runs;
    // then the fewest and most over the seeds (the same question, other draws).
    const spread = [...(c.bands ?? []).filter((b) => b.calibration !== 'physical lower bound'), ...(c.sensitivity ?? [])].map((b) => b.workers).filter((w): w is number => w !== null);
    const byKind: readonly (number | null)[] = [c.documentWorkers, c.formulaWorkers, c.formulaWorkersWithHeadroom, c.simulatedWorkers, spread.length > 0 ? Math.min(...spread) : null, spread.length > 0 ? Math.max(...spread) : null, c.seedSpread?.min ?? null, c.seedSpread?.max ?? null];
    return CAPACITY_KINDS.flatMap((kind, k) => {
      const workers = byKind[k];
      return workers === null || workers === undefined || !Number.isFinite(workers) ? [] : [{ useCase: labels[i] ?? c.useCase, kind, workers, label: formatNumber(workers) }];
    });
  });
  const title = `${result.scenario}: workers needed per use case`;
  return {
    id: 'capacity',
    title,
    spec: {
      $schema: SCHEMA,
      title,
      config: CONFIG,
      width: Math.max(WIDTH, labels.length * 120),
      height: HEIGHT,
      data: { values },
      encoding: {
        x: { field: 'useCase', type: 'nominal', title: 'use case', sort: labels, axis: { labelAngle: 0 } },
        xOffset: { field: 'kind', type: 'nominal', sort: [...CAPACITY_KINDS] },
        y: { field: 'workers', type: 'quantitative', title: 'workers' },
        color: { field: 'kind', type: 'nominal', title: 'estimate', sort: [...CAPACITY_KINDS] },
      },
      layer: [{ mark: 'bar' }, { mark: { type: 'text', dy: -5, fontSize: 10 }, encoding: { text: { field: 'label', type: 'nominal' }, color: { value: 'black' } } }],
    },
  };
}

/** Charts skip points that JSON cannot carry (NaN, ±Infinity would become null). */
function finite(...values: readonly number[]): boolean {
  return values.every((v) => Number.isFinite(v));
}

/** Distinct values in the order they first appear (stable legend and facet order). */
function firstSeen(values: readonly string[]): string[] {
  return [...new Set(values)];
}
