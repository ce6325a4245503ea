// End to end without the gateway core: workload → least-loaded placement → workers → metrics.
// Determinism (byte-identical summary JSON per seed), faults and network delay.
import { describe, expect, it } from 'vitest';
import { createLatencyModel } from '../latency/latency-model.js';
import { OpenLoopWorkload } from '../workload/open-loop.js';
import type { OpenLoopConfig } from '../workload/types.js';
import { runDirect, type DirectRunConfig } from './run-direct.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const wl: OpenLoopConfig = {
  type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 8 }, arrival: { type: 'gamma', cv: 2 }, durationMs: 60_000,
  promptTokens: { type: 'lognormal', meanTokens: 300, cv: 1, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 100, cv: 1, minTokens: 1, maxTokens: 1024 },
  sessions: { continueProbability: 0.5, turnsPerSession: { type: 'uniform', minTokens: 2, maxTokens: 5 }, userTokens: { type: 'fixed', tokens: 60 }, maxActiveSessions: 100 },
};
const run = (seed: number, extra: Partial<DirectRunConfig> = {}) => runDirect({ seed, workers: 4, latency, workload: new OpenLoopWorkload(wl, seed), timeSeries: true, ...extra });

describe('runDirect', () => {
  it('completes every request; the summary is byte-identical for one seed and differs for another', () => {
    const a = run(1);
    expect(a.summary.requests.completed).toBe(a.summary.requests.arrived);
    expect(a.summary.requests.successRate).toBe(1);
    expect(a.summary.latencyMs.itl_ms.count).toBeGreaterThan(0);
    expect(a.summary.counters.prefix_cache_hits).toBeGreaterThan(0);
    expect(JSON.stringify(run(1).summary)).toBe(JSON.stringify(a.summary));
    expect(JSON.stringify(run(2).summary)).not.toBe(JSON.stringify(a.summary));
  });

  it('a crash fails in-flight requests; error injection fails about p of them', () => {
    const r = run(1, { faults: { crashes: [{ workerIndex: 0, atMs: 20_000, restartAfterMs: 5_000 }], errorProbability: 0.05 } });
    const s = r.summary;
    expect(s.counters.worker_crashes).toBe(1);
    expect(s.requests.failed).toBeGreaterThan(0);
    expect(s.requests.completed + s.requests.failed).toBe(s.requests.arrived);
    expect(s.requests.failed / s.requests.arrived).toBeLessThan(0.15);
    expect(s.counters.cold_starts).toBe(1);
  });

  it('network delay adds to TTFT', () => {
    const base = run(1).summary.latencyMs.ttft_ms.p50;
    const delayed = run(1, { network: { baseLatencyMs: 50, jitterMs: 0, jitter: 'uniform' } }).summary.latencyMs.ttft_ms.p50;
    expect(delayed).toBeGreaterThan(base + 90);
  });
});
