// Models loaded on demand in the simulator (config.catalog): the cluster executes the core's
// loadModel on the worker it names, which holds the model after its load time (its latency model's
// cold start scaled to the catalogued bytes) and says so in its status; the waiting requests run then.
import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { makeRequest } from '../../core/gateway/test-support.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import type { SimRequest } from '../workload/types.js';
import { SimCluster, type ArrivalDriver } from './cluster.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });

function fixed(requests: readonly SimRequest[]): ArrivalDriver {
  return { start: () => requests, next: () => undefined, onFinished: () => undefined };
}

function run(arrivals: readonly SimRequest[], bytes: number) {
  const metrics = new SimMetrics();
  const cluster = new SimCluster({
    mode: { type: 'gateway', config: resolveGatewayConfig({ batching: { type: 'none' }, admission: { queueTimeoutMs: 120_000 }, catalog: { big: { path: '/models/big', bytes } } }) },
    model: 'llama-3.1-8b', seed: 3,
    workers: [0, 1].map((i) => ({ id: `w${i}`, latency, maxSequences: 8, maxQueuedSequences: 1000, startWarm: true })),
  }, fixed(arrivals), metrics);
  const r = cluster.run();
  return { cluster, r, summary: metrics.summarize(r.endMs) };
}

const req = (id: string, model: string, atMs: number): SimRequest => ({ arrivalMs: atMs, request: makeRequest(id, { model, promptTokens: 64, sampling: { maxTokens: 16 } }), outputTokens: 16 });

describe('simulated cluster: a catalogued model no worker holds', () => {
  it('is loaded once, taking the latency model\'s load time for its bytes; its requests are served after it, later ones at once', () => {
    const bytes = 2 * latency.modelBytes;
    const loadMs = 2 * latency.coldStartMs();
    const { cluster, r, summary } = run([req('b1', 'big', 0), req('b2', 'big', 10), req('s1', 'llama-3.1-8b', 10), req('b3', 'big', loadMs + 1000)], bytes);
    expect(r.unfinished).toBe(0);
    expect(summary.requests.completed).toBe(4);
    expect(cluster.modelLoads).toEqual([{ atMs: 0, workerId: 'w0', model: 'big', loadedAtMs: loadMs }]);
    expect(r.core!.workerInfo(r.endMs).map((w) => [w.id, w.models])).toEqual([['w0', ['llama-3.1-8b', 'big']], ['w1', ['llama-3.1-8b']]]);
    // b1 and b2 waited for the load (and more); s1 (a held model) and b3 (after the load) did not: the median of four is fast.
    const e2e = summary.latencyMs.e2e_ms;
    expect(e2e.count).toBe(4);
    expect(e2e.max).toBeGreaterThanOrEqual(loadMs);
    expect(e2e.p95).toBeGreaterThanOrEqual(loadMs);
    expect(e2e.p50).toBeLessThan(loadMs / 4);
  });

  it('refuses a model neither held nor catalogued (404), loading nothing', () => {
    const { cluster, summary } = run([req('x', 'nope', 0)], 1);
    expect(summary.requests.rejected).toBe(1);
    expect(cluster.refusals.count).toBe(1);
    expect(cluster.modelLoads).toEqual([]);
  });
});
