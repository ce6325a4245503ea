// Issue 20's pieces that need no live process: the scale-out scenarios' sections (gpu: 1 vs 4 worker
// nodes, both behind the gateway; cpu: 1 vs 2), the kill plan's validation, the steady-state
// throughput from a timeline, and the live summary's lost retryable requests.
import { describe, expect, it } from 'vitest';
import { clusterScaleOutGpu, clusterScaleOutGpuKill } from '../catalog/scale-out.js';
import { defineScenario, ScenarioError } from '../define.js';
import { LoadMetrics } from '../../live/load/metrics.js';
import type { ChatOutcome } from '../../live/load/client.js';
import { steadyOutputTokPerS, steadyWindow } from '../steady.js';
import { withLiveSection } from './profile.js';
import { liveWorkload } from './scale.js';
import { runScenarioSim } from '../run.js';

describe('the scale-out scenarios', () => {
  it('gpu: gateway with 1 worker node against 4, default policies, gpu-1b, 256 users (4 × the per-node limit of 64)', () => {
    const d = withLiveSection(clusterScaleOutGpu, 'gpu');
    expect(d.baseline).toMatchObject({ kind: 'gateway', workers: 1, gateway: {} });
    expect(d.candidate).toMatchObject({ kind: 'gateway', workers: 4, gateway: {}, name: 'mlx-serving (4 workers)' });
    expect(d.live).toMatchObject({ model: 'gpu-1b', users: 256, tokenScale: 1 });
    expect(liveWorkload(d)).toMatchObject({ type: 'closed', users: 256, durationMs: 30_000 });
    expect(d.targets).toContainEqual({ metric: 'extra.steadyOutputTokPerS', kind: 'ratio-min', value: 3.5 });
    expect(d.targets).toContainEqual({ metric: 'successRate', kind: 'min', value: 100 });
    expect(d.live?.killWorker).toBeUndefined();
  });

  it('cpu: the candidate runs 2 worker nodes (renamed so), the tiny model', () => {
    const d = withLiveSection(clusterScaleOutGpu, 'cpu');
    expect(d.candidate).toMatchObject({ workers: 2, name: 'mlx-serving (2 workers)' });
    expect(d.baseline).toMatchObject({ workers: 1 });
    expect(d.live?.model).toBe('tiny');
    // The sim definition is untouched.
    expect(clusterScaleOutGpu.candidate.workers).toBe(4);
  });

  it('kill: w1 killed mid-run on both profiles, 0 lost retryable requests targeted', () => {
    expect(withLiveSection(clusterScaleOutGpuKill, 'gpu').live?.killWorker).toEqual({ workerIndex: 1, atMs: 15_000 });
    expect(withLiveSection(clusterScaleOutGpuKill, 'cpu').live?.killWorker).toEqual({ workerIndex: 1, atMs: 10_000 });
    expect(clusterScaleOutGpuKill.targets).toContainEqual({ metric: 'extra.lostRetryable', kind: 'max', value: 0 });
    expect(clusterScaleOutGpuKill.faults?.crashes?.[0]).toMatchObject({ workerIndex: 1 });
  });

  it('refuses a kill outside the run or a bad worker index, and a bad candidateWorkers, by field', () => {
    const at = (live: object) => () => defineScenario({ ...clusterScaleOutGpu, live: { model: 'tiny', durationMs: 20_000, ...live } });
    expect(at({ killWorker: { workerIndex: 1, atMs: 20_000 } })).toThrow(ScenarioError);
    expect(at({ killWorker: { workerIndex: 1, atMs: 20_000 } })).toThrow('live.killWorker.atMs must be in (0, live.durationMs), got 20000');
    expect(at({ killWorker: { workerIndex: -1, atMs: 5000 } })).toThrow('live.killWorker.workerIndex');
    expect(at({ candidateWorkers: 0 })).toThrow('live.candidateWorkers must be an integer');
    expect(at({ drainMs: 10 })).toThrow('live.drainMs must be in [1000, 600000], got 10');
    expect(at({ killWorker: { workerIndex: 1, atMs: 5000 }, candidateWorkers: 2, drainMs: 5000 })()).toBeDefined();
  });
});

describe('the scale-out figures in sim', () => {
  it('the kill variant: steady tok/s, token shares (the killed node\'s below a quarter) and lost retryable requests consistent with the run', async () => {
    const r = await runScenarioSim(clusterScaleOutGpuKill);
    const c = r.candidate;
    expect(c.extra.steadyOutputTokPerS).toBeGreaterThan(0);
    expect(c.extra.tokenShareMax).toBeGreaterThan(0.25);
    expect(c.extra.tokenShareMin).toBeLessThan(0.25);
    expect(c.extra.lostRetryable).toBe(c.failed + c.rejected - c.extra.failedAfterTokens!);
    expect(r.baseline!.extra).toMatchObject({ tokenShareMax: 1, tokenShareMin: 1 });
  });
});

describe('steady-state throughput', () => {
  const tl = [0, 1, 2, 3, 4, 5].map((k) => ({ tMs: k * 1000, outputTokPerS: [10, 100, 100, 200, 50, 5][k]!, inFlight: 1 }));

  it('averages the buckets lying wholly inside the window', () => {
    expect(steadyOutputTokPerS(tl, 1000, 4000)).toBeCloseTo((100 + 100 + 200) / 3, 3);
    expect(steadyOutputTokPerS(tl, 1500, 4000)).toBe(150); // buckets 2–3 s and 3–4 s
    expect(steadyOutputTokPerS(tl, 0, 6000)).toBeCloseTo(465 / 6, 3);
    expect(steadyOutputTokPerS(tl, 10_000, 20_000)).toBe(0);
    expect(steadyOutputTokPerS([], 0, 1000)).toBe(0);
  });

  it('the window is after a closed loop\'s ramp-up and before its duration ends', () => {
    expect(steadyWindow({ type: 'closed', rampUpMs: 5000, durationMs: 30_000 })).toEqual([5000, 30_000]);
    expect(steadyWindow({ type: 'open', durationMs: 30_000 })).toEqual([0, 30_000]);
  });
});

describe('lost retryable requests in a live summary', () => {
  const out = (kind: ChatOutcome['kind'], chunks: number, code?: string): ChatOutcome => ({
    kind, status: kind === 'ok' ? 200 : 502, ...(code !== undefined && { code }), sentMs: 0, firstTokenMs: chunks > 0 ? 1 : undefined, endMs: 10,
    chunkMs: Array.from({ length: chunks }, (_, i) => 1 + i), text: '', completionTokens: chunks, promptTokens: 1, cachedTokens: 0,
  });

  it('counts failures before the first token as lost retryable, after it as failed after tokens, as sim does', () => {
    const m = new LoadMetrics(0, 1000);
    for (const o of [out('ok', 3), out('ok', 2), out('ok', 4), out('failed', 0, 'worker_error'), out('failed', 2, 'stream_error'), out('rejected', 0, 'no_healthy_worker')]) {
      m.sent(0);
      m.finished(o);
    }
    const e = m.summary('x', 4, 1000).extra;
    expect(e.lostRetryable).toBe(2);
    expect(e.failedAfterTokens).toBe(1);
    // 3 succeeded of the 5 that had not failed after their tokens.
    expect(e.retryableSuccessRate).toBe(0.6);
  });

  it('none lost: retryable success rate 1 even when a stream was cut after its tokens', () => {
    const m = new LoadMetrics(0, 1000);
    for (const o of [out('ok', 3), out('failed', 5, 'stream_error')]) {
      m.sent(0);
      m.finished(o);
    }
    expect(m.summary('x', 4, 1000).extra).toMatchObject({ lostRetryable: 0, failedAfterTokens: 1, retryableSuccessRate: 1 });
  });
});
