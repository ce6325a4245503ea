import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import type { OpenLoopConfig } from '../workload/types.js';
import { arrivalsFor } from './arrivals.js';
import { SimCluster, type ClusterMode } from './cluster.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const workload: OpenLoopConfig = {
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 4 }, arrival: { type: 'poisson' }, durationMs: 60_000,
  promptTokens: { type: 'uniform', minTokens: 100, maxTokens: 400 }, outputTokens: { type: 'uniform', minTokens: 50, maxTokens: 150 },
  duplicates: { ratio: 0.5, hotSetSize: 20, zipfExponent: 1.1 }, temperature: 0,
};

function run(mode: ClusterMode, workers: number, seed = 7) {
  const metrics = new SimMetrics();
  const cluster = new SimCluster({
    mode, model: 'llama-3.1-8b', seed,
    workers: Array.from({ length: workers }, (_, i) => ({ id: `w${i}`, latency, maxSequences: 8, maxQueuedSequences: 10_000, startWarm: true })),
    network: { baseLatencyMs: 0.5, jitterMs: 0.2, jitter: 'uniform' },
  }, arrivalsFor(workload, seed), metrics);
  const r = cluster.run();
  return { r, summary: metrics.summarize(r.endMs) };
}

describe('simulated cluster', () => {
  it('runs the direct engine and the gateway core on the same workload; every request ends', () => {
    const direct = run({ type: 'direct' }, 1);
    const gw = run({ type: 'gateway', config: resolveGatewayConfig({ routing: { type: 'least-loaded' } }) }, 2);
    for (const x of [direct, gw]) {
      expect(x.r.unfinished).toBe(0);
      expect(x.summary.requests.arrived).toBeGreaterThan(150);
      expect(x.summary.requests.completed + x.summary.requests.failed + x.summary.requests.rejected).toBe(x.summary.requests.arrived);
    }
    expect(direct.summary.requests.arrived).toBe(gw.summary.requests.arrived);
    expect(gw.summary.counters.dedupe_hits + gw.summary.counters.response_cache_hits + gw.summary.counters.coalesced_followers).toBeGreaterThan(0);
    expect(direct.summary.counters.dedupe_hits).toBe(0);
  });

  it('is deterministic: one seed, byte-identical summaries; another seed differs', () => {
    const mode: ClusterMode = { type: 'gateway', config: resolveGatewayConfig({}) };
    expect(JSON.stringify(run(mode, 3, 11).summary)).toBe(JSON.stringify(run(mode, 3, 11).summary));
    expect(JSON.stringify(run(mode, 3, 12).summary)).not.toBe(JSON.stringify(run(mode, 3, 11).summary));
  });
});
