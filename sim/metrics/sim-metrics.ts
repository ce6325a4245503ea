// In-memory metrics of one simulation run and its summary as plain JSON with a stable key order.
//   - latency histograms (ms; p50/p95/p99/max) for TTFT, inter-token latency, end-to-end, queue wait,
//     prefill and decode phases; ITL comes from worker steps: every sequence continuing through a step
//     of d ms waited d ms for its token, so a step records d with count = continuing sequences;
//   - counters (names.ts);
//   - a time series bucketed per intervalMs (counters and histogram means per bucket), bounded by
//     bucketsMax: when a run outlasts it, adjacent buckets merge and the interval doubles;
//   - per-worker utilisation, batch-size and KV-use distributions come from the workers' own stats
//     (time-weighted), passed to summarize().
// Determinism: the summary is built in a fixed key order and numbers are rounded to 3 decimals, so the
// same run gives byte-identical JSON.
import type { WorkerStats } from '../worker/worker.js';
import { LatencyHistogram } from './histogram.js';
import { COUNTER_NAMES, HISTOGRAM_NAMES, type CounterName, type HistogramName } from './names.js';
import type { MetricsSink } from './sink.js';

const H = HISTOGRAM_NAMES.length;
const C = COUNTER_NAMES.length;
const HIST_INDEX = Object.fromEntries(HISTOGRAM_NAMES.map((n, i) => [n, i])) as Record<HistogramName, number>;
const COUNTER_INDEX = Object.fromEntries(COUNTER_NAMES.map((n, i) => [n, i])) as Record<CounterName, number>;
/** Row layout of a time-series bucket: counters, then per histogram (sum, count). */
const ROW = C + 2 * H;
const ITL = HIST_INDEX.itl_ms;

export interface SimMetricsOptions {
  readonly intervalMs?: number;
  readonly bucketsMax?: number;
}

export interface WorkerSummaryInput {
  readonly id: string;
  readonly stats: WorkerStats;
}

const r3 = (x: number): number => (Number.isFinite(x) ? Math.round(x * 1000) / 1000 : 0);

export class SimMetrics implements MetricsSink {
  private readonly hist: LatencyHistogram[] = HISTOGRAM_NAMES.map(() => new LatencyHistogram());
  private readonly counters = new Float64Array(C);
  private intervalMs: number;
  private readonly bucketsMax: number;
  private rows: Float64Array[] = [];
  /** The last bucket row() returned and its [start, end) in ms: most records land in it (issue 21). */
  private rowCached: Float64Array | undefined = undefined;
  private rowStartMs = 0;
  private rowEndMs = 0;

  constructor(options: SimMetricsOptions = {}) {
    this.intervalMs = options.intervalMs ?? 10_000;
    this.bucketsMax = options.bucketsMax ?? 2048;
    if (!(this.intervalMs > 0)) throw new Error(`SimMetrics: intervalMs must be > 0, got ${this.intervalMs}`);
    if (!Number.isInteger(this.bucketsMax) || this.bucketsMax < 2) throw new Error(`SimMetrics: bucketsMax must be an integer >= 2, got ${this.bucketsMax}`);
  }

  histogram(name: HistogramName): LatencyHistogram {
    return this.hist[HIST_INDEX[name]]!;
  }

  counter(name: CounterName): number {
    return this.counters[COUNTER_INDEX[name]]!;
  }

  observe(name: HistogramName, valueMs: number, nowMs: number, count = 1): void {
    const i = HIST_INDEX[name];
    this.hist[i]!.record(valueMs, count);
    const row = this.row(nowMs);
    row[C + 2 * i]! += valueMs * count;
    row[C + 2 * i + 1]! += count;
  }

  add(name: CounterName, by: number, nowMs: number): void {
    const i = COUNTER_INDEX[name];
    this.counters[i]! += by;
    this.row(nowMs)[i]! += by;
  }

  /** Called once per worker step: the same operations as observe('itl_ms', …), without the name lookup. */
  onStep(_workerIndex: number, startMs: number, durationMs: number, _batchSize: number, continuingSequences: number): void {
    if (continuingSequences <= 0) return;
    this.hist[ITL]!.record(durationMs, continuingSequences);
    const row = this.row(startMs + durationMs);
    row[C + 2 * ITL]! += durationMs * continuingSequences;
    row[C + 2 * ITL + 1]! += continuingSequences;
  }

  private row(nowMs: number): Float64Array {
    if (nowMs >= this.rowStartMs && nowMs < this.rowEndMs) return this.rowCached!;
    let b = Math.floor(nowMs / this.intervalMs);
    while (b >= this.bucketsMax) {
      this.coarsen();
      b = Math.floor(nowMs / this.intervalMs);
    }
    while (this.rows.length <= b) this.rows.push(new Float64Array(ROW));
    const row = this.rows[b]!;
    // Cache the bucket's range where floor(t / intervalMs) = b is certain without dividing: an integer
    // interval makes b × intervalMs exact (t ≥ it ⇒ t / intervalMs ≥ b), and below (b + 1) × intervalMs
    // less a relative 2^-50 the correctly rounded quotient cannot round up to b + 1. Other t divide.
    if (Number.isInteger(this.intervalMs)) {
      const endMs = (b + 1) * this.intervalMs;
      this.rowCached = row;
      this.rowStartMs = b * this.intervalMs;
      this.rowEndMs = endMs - endMs * 2 ** -50;
    }
    return row;
  }

  /** Merges adjacent buckets pairwise and doubles the interval (keeps the series bounded). */
  private coarsen(): void {
    const merged: Float64Array[] = [];
    for (let i = 0; i < this.rows.length; i += 2) {
      const a = this.rows[i]!;
      const b = this.rows[i + 1];
      if (b) for (let k = 0; k < ROW; k++) a[k]! += b[k]!;
      merged.push(a);
    }
    this.rows = merged;
    this.intervalMs *= 2;
    this.rowCached = undefined;
    this.rowStartMs = 0;
    this.rowEndMs = 0;
  }

  /** The run's results as plain JSON (stable key order, numbers rounded to 3 decimals). */
  summarize(endMs: number, workers: readonly WorkerSummaryInput[] = [], options: { timeSeries?: boolean } = {}): SimSummary {
    const c = (n: CounterName): number => this.counter(n);
    const finished = c('requests_completed') + c('requests_failed') + c('requests_rejected');
    const seconds = endMs / 1000;
    const latency = {} as Record<HistogramName, LatencySummary>;
    for (const n of HISTOGRAM_NAMES) {
      const h = this.histogram(n);
      latency[n] = { count: h.count, mean: r3(h.meanMs), p50: r3(h.percentileMs(50)), p95: r3(h.percentileMs(95)), p99: r3(h.percentileMs(99)), max: r3(h.count > 0 ? h.maxMs : 0) };
    }
    const counters = {} as Record<CounterName, number>;
    for (const n of COUNTER_NAMES) counters[n] = r3(c(n));
    const summary: SimSummary = {
      durationMs: r3(endMs),
      requests: {
        arrived: c('requests_arrived'),
        completed: c('requests_completed'),
        failed: c('requests_failed'),
        rejected: c('requests_rejected'),
        successRate: r3(finished > 0 ? c('requests_completed') / finished : 1),
      },
      throughput: {
        outputTokensPerSec: r3(seconds > 0 ? c('output_tokens') / seconds : 0),
        completedPerSec: r3(seconds > 0 ? c('requests_completed') / seconds : 0),
      },
      latencyMs: latency,
      counters,
      workers: summarizeWorkers(workers, endMs),
    };
    if (options.timeSeries) summary.timeSeries = this.timeSeries();
    return summary;
  }

  private timeSeries(): TimeSeries {
    const columns = ['startMs', ...COUNTER_NAMES, ...HISTOGRAM_NAMES.map((n) => `${n}_mean`)];
    const rows = this.rows.map((row, b) => {
      const out = [b * this.intervalMs];
      for (let k = 0; k < C; k++) out.push(r3(row[k]!));
      for (let k = 0; k < H; k++) out.push(r3(row[C + 2 * k + 1]! > 0 ? row[C + 2 * k]! / row[C + 2 * k + 1]! : 0));
      return out;
    });
    return { intervalMs: this.intervalMs, columns, rows };
  }
}

export interface LatencySummary {
  count: number; mean: number; p50: number; p95: number; p99: number; max: number;
}

export interface TimeSeries {
  intervalMs: number;
  columns: string[];
  rows: number[][];
}

export interface WorkerSummary {
  id: string; utilisation: number; steps: number; outputTokens: number; meanBatch: number; p95Batch: number; meanKvPercent: number; coldStarts: number; crashes: number; completed: number; failed: number;
}

export interface SimSummary {
  durationMs: number;
  requests: { arrived: number; completed: number; failed: number; rejected: number; successRate: number };
  throughput: { outputTokensPerSec: number; completedPerSec: number };
  latencyMs: Record<HistogramName, LatencySummary>;
  counters: Record<CounterName, number>;
  workers: {
    count: number;
    utilisation: { mean: number; min: number; max: number };
    /** Share of busy time at each batch size (index = batch size), all workers. */
    batchSizeTimeShare: number[];
    /** Share of busy time at KV use [0,10) %, [10,20) % … [90,100] %, all workers. */
    kvUseTimeShare: number[];
    perWorker: WorkerSummary[];
  };
  timeSeries?: TimeSeries;
}

function weightedPercentile(weights: Float64Array, p: number): number {
  let total = 0;
  for (const w of weights) total += w;
  if (total === 0) return 0;
  let cum = 0;
  for (let i = 0; i < weights.length; i++) {
    cum += weights[i]!;
    if (cum >= (p / 100) * total) return i;
  }
  return weights.length - 1;
}

function weightedMean(weights: Float64Array, scale = 1): number {
  let total = 0;
  let sum = 0;
  for (let i = 0; i < weights.length; i++) {
    total += weights[i]!;
    sum += weights[i]! * i * scale;
  }
  return total > 0 ? sum / total : 0;
}

function summarizeWorkers(workers: readonly WorkerSummaryInput[], endMs: number): SimSummary['workers'] {
  const batchLen = Math.max(1, ...workers.map((w) => w.stats.timeByBatchMs.length));
  const batch = new Float64Array(batchLen);
  const kv = new Float64Array(10);
  let busy = 0;
  const perWorker = workers.map((w) => {
    const s = w.stats;
    s.timeByBatchMs.forEach((t, i) => (batch[i]! += t));
    s.timeByKvPercentMs.forEach((t, i) => (kv[Math.min(9, Math.floor(i / 10))]! += t));
    busy += s.busyMs;
    return {
      id: w.id, utilisation: r3(endMs > 0 ? s.busyMs / endMs : 0), steps: s.steps, outputTokens: s.outputTokens,
      meanBatch: r3(weightedMean(s.timeByBatchMs)), p95Batch: weightedPercentile(s.timeByBatchMs, 95), meanKvPercent: r3(weightedMean(s.timeByKvPercentMs)),
      coldStarts: s.coldStarts, crashes: s.crashes, completed: s.completed, failed: s.failed,
    };
  });
  const utils = perWorker.map((w) => w.utilisation);
  return {
    count: workers.length,
    utilisation: { mean: r3(workers.length && endMs > 0 ? busy / endMs / workers.length : 0), min: utils.length ? Math.min(...utils) : 0, max: utils.length ? Math.max(...utils) : 0 },
    batchSizeTimeShare: [...batch].map((t) => r3(busy > 0 ? t / busy : 0)),
    kvUseTimeShare: [...kv].map((t) => r3(busy > 0 ? t / busy : 0)),
    perWorker,
  };
}
