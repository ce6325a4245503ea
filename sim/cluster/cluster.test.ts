import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import type { OpenLoopConfig } from '../workload/types.js';
import { arrivalsFor } from './arrivals.js';
import { runWindowMs, SimCluster, type ClusterMode } from './cluster.js';

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

  it('measures rates until the last request finished, not until a gateway timer after it (as live does)', () => {
    const direct = run({ type: 'direct' }, 1);
    const gw = run({ type: 'gateway', config: resolveGatewayConfig({ routing: { type: 'least-loaded' } }) }, 2);
    // The gateway's caches schedule expiry timers that fire after the workload is done; the engine alone has none.
    expect(gw.r.endMs).toBeGreaterThan(gw.r.lastFinishMs);
    expect(direct.r.endMs).toBe(direct.r.lastFinishMs);
    for (const x of [direct, gw]) {
      expect(x.r.lastFinishMs).toBeGreaterThan(workload.durationMs * 0.9);
      expect(runWindowMs(x.r)).toBe(x.r.lastFinishMs);
    }
    // A run cut with requests open lasts until its last event.
    expect(runWindowMs({ endMs: 5000, lastFinishMs: 4000, unfinished: 3 })).toBe(5000);
    expect(runWindowMs({ endMs: 5000, lastFinishMs: 0, unfinished: 0 })).toBe(5000);
  });

  it('is deterministic: one seed, byte-identical summaries; another seed differs', () => {
    const mode: ClusterMode = { type: 'gateway', config: resolveGatewayConfig({}) };
    expect(JSON.stringify(run(mode, 3, 11).summary)).toBe(JSON.stringify(run(mode, 3, 11).summary));
    expect(JSON.stringify(run(mode, 3, 12).summary)).not.toBe(JSON.stringify(run(mode, 3, 11).summary));
  });
});

describe('simulated cluster: request deadlines (spec.requestTimeoutMs, as live\'s gateway sets them)', () => {
  function timed(requestTimeoutMs: number | undefined) {
    const metrics = new SimMetrics();
    const cluster = new SimCluster({
      mode: { type: 'gateway', config: resolveGatewayConfig({ routing: { type: 'least-loaded' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } } }) },
      model: 'llama-3.1-8b', seed: 5,
      // One worker of 2 sequences under 4 RPS: requests wait far longer than their timeout.
      workers: [{ id: 'w0', latency, maxSequences: 2, maxQueuedSequences: 10_000, startWarm: true }],
      network: { baseLatencyMs: 5, jitterMs: 1, jitter: 'uniform' },
      ...(requestTimeoutMs !== undefined && { requestTimeoutMs }),
    }, arrivalsFor({ ...workload, durationMs: 20_000 }, 5), metrics);
    const r = cluster.run();
    return { cluster, r, summary: metrics.summarize(r.endMs) };
  }

  it('times requests out at the gateway, and the worker\'s own deadline check ends jobs it reaches first', () => {
    const none = timed(undefined);
    expect(none.cluster.requestTimeouts).toBe(0);
    expect(none.r.workers[0]!.stats.deadlineExceeded).toBe(0);
    const t = timed(3000);
    expect(t.r.unfinished).toBe(0);
    expect(t.cluster.requestTimeouts).toBeGreaterThan(10);
    expect(t.r.workers[0]!.stats.deadlineExceeded).toBeGreaterThan(0);
    expect(t.summary.requests.failed).toBeGreaterThanOrEqual(t.cluster.requestTimeouts);
    expect(t.summary.latencyMs.e2e_ms.max).toBeLessThanOrEqual(3000);
    expect(JSON.stringify(timed(3000).summary)).toBe(JSON.stringify(t.summary));
  });
});
