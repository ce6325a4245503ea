import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import type { OpenLoopConfig } from '../workload/types.js';
import { arrivalsFor } from './arrivals.js';
import { SimCluster } from './cluster.js';
import type { RollingSpec } from './rolling.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const workload: OpenLoopConfig = {
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 4 }, arrival: { type: 'poisson' }, durationMs: 90_000,
  promptTokens: { type: 'uniform', minTokens: 100, maxTokens: 400 }, outputTokens: { type: 'uniform', minTokens: 100, maxTokens: 300 },
  temperature: 0.7,
};
const ROLLING: RollingSpec = { atMs: 10_000, minHealthyWorkers: 2, processRestartMs: 1500, waitHealthyMs: 30_000, drainTimeoutMs: 60_000, readyTimeoutMs: 60_000, drain: true };

/** Runs 3 workers through a rolling restart; records every submission each worker process receives. */
function run(rolling: RollingSpec, seed = 5) {
  const metrics = new SimMetrics();
  const cluster = new SimCluster({
    mode: { type: 'gateway', config: resolveGatewayConfig({ routing: { type: 'least-loaded' } }) }, model: 'llama-3.1-8b', seed,
    workers: Array.from({ length: 3 }, (_, i) => ({ id: `w${i}`, latency, maxSequences: 8, maxQueuedSequences: 10_000, startWarm: true })),
    rollingRestart: rolling,
  }, arrivalsFor(workload, seed), metrics);
  const submits: { id: string; atMs: number }[] = [];
  for (const w of cluster.workers) {
    const submit = w.submit.bind(w);
    w.submit = (input, nowMs, out) => {
      submits.push({ id: w.id, atMs: nowMs });
      return submit(input, nowMs, out);
    };
  }
  const r = cluster.run();
  return { r, cluster, submits, summary: metrics.summarize(r.endMs), report: cluster.rolling!.report() };
}

describe('rolling restart in the simulated cluster', () => {
  it('restarts every worker once; a draining worker receives nothing new; in-flight finishes; no request fails', () => {
    const { r, cluster, submits, summary, report } = run(ROLLING);
    expect(report.phase).toBe('done');
    expect(report.records.map((x) => x.id)).toEqual(['w0', 'w1', 'w2']);
    expect(r.unfinished).toBe(0);
    expect(summary.requests.failed).toBe(0);
    expect(summary.requests.completed).toBe(summary.requests.arrived);
    for (const x of report.records) {
      expect(x.cutInFlight).toBe(0);
      expect(x.drainMs).toBeGreaterThan(0); // it had work in flight, and waited for it
      expect(x.restartMs).toBe(ROLLING.processRestartMs);
      expect(x.readyMs).toBeCloseTo(latency.coldStartMs(), 0); // the model load, then it registers at once
      const backAtMs = x.outAtMs + x.drainMs + x.restartMs + x.readyMs;
      expect(submits.filter((s) => s.id === x.id && s.atMs > x.outAtMs && s.atMs < backAtMs)).toEqual([]);
      expect(submits.some((s) => s.id === x.id && s.atMs >= backAtMs)).toBe(true); // and serves again after
    }
    // one at a time, in order, never below the watchdog's minimum
    for (let i = 1; i < report.records.length; i++) {
      const prev = report.records[i - 1]!;
      expect(report.records[i]!.outAtMs).toBeGreaterThanOrEqual(prev.outAtMs + prev.drainMs + prev.restartMs + prev.readyMs);
    }
    expect(report.minServingWorkers).toBe(2);
    expect(cluster.workers.map((w) => w.stats.coldStarts)).toEqual([1, 1, 1]);
  });

  it('without the drain, restarts cut in-flight requests and some fail', () => {
    const { summary, report } = run({ ...ROLLING, drain: false });
    expect(report.phase).toBe('done');
    expect(report.records.reduce((a, x) => a + x.cutInFlight, 0)).toBeGreaterThan(0);
    expect(summary.requests.failed).toBeGreaterThan(0);
  });

  it('the watchdog stops the restart when too few other workers serve', () => {
    const { report, summary } = run({ ...ROLLING, minHealthyWorkers: 3, waitHealthyMs: 1000 });
    expect(report.phase).toBe('aborted');
    expect(report.records).toEqual([]);
    expect(report.reason).toMatch(/watchdog: fewer than 3 other healthy/);
    expect(summary.requests.failed).toBe(0);
  });

  it('is deterministic: one seed, byte-identical summaries and restart records', () => {
    const a = run(ROLLING, 9);
    const b = run(ROLLING, 9);
    expect(JSON.stringify([b.summary, b.report])).toBe(JSON.stringify([a.summary, a.report]));
  });
});
