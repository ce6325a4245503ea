import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../config/validate.js';
import { GatewayCore } from '../gateway/gateway-core.js';
import { makeRequest, makeStatus, testRng } from '../gateway/test-support.js';
import { DesiredWorkers, rawDesiredWorkers, type ScalingInputs } from './desired-workers.js';
import { WindowStats } from './window-stats.js';

const cfg = { enabled: true, windowMs: 10_000, targetUtilisation: 0.5, backlogDrainMs: 10_000, scaleDownStabilisationMs: 60_000, minWorkers: 1, maxWorkers: 50 };
const base: ScalingInputs = { arrivalsPerS: 10, completionsPerS: 10, serviceMs: 2000, inFlight: 20, queued: 0, workers: 4, slotsPerWorker: 4 };

describe('scaling: desired workers', () => {
  it("follows Little's law: λ·W slots over c·ρ per worker", () => {
    // 10/s × 2 s = 20 busy slots; 4 slots × 0.5 = 2 per worker → 10 workers
    expect(rawDesiredWorkers(base, cfg)).toEqual({ workers: 10, reason: 'load', slotsNeeded: 20 });
  });

  it('adds the backlog drained within the horizon', () => {
    // 100 queued × 2 s / 10 s = 20 more slots → 40 / 2 = 20 workers
    expect(rawDesiredWorkers({ ...base, queued: 100 }, cfg)).toMatchObject({ workers: 20, reason: 'load', slotsNeeded: 40 });
    expect(rawDesiredWorkers({ ...base, queued: 200 }, cfg)).toMatchObject({ workers: 30, reason: 'backlog' });
  });

  it('holds the current count while the service time is unknown, and idles to the minimum', () => {
    expect(rawDesiredWorkers({ ...base, serviceMs: undefined }, cfg)).toMatchObject({ workers: 4, reason: 'no-service-time' });
    expect(rawDesiredWorkers({ ...base, serviceMs: undefined, arrivalsPerS: 0, inFlight: 0 }, cfg)).toMatchObject({ workers: 1, reason: 'idle' });
    expect(rawDesiredWorkers({ ...base, arrivalsPerS: 0 }, { ...cfg, minWorkers: 0 })).toMatchObject({ workers: 0, reason: 'idle' });
  });

  it('clamps to [minWorkers, maxWorkers]', () => {
    expect(rawDesiredWorkers({ ...base, arrivalsPerS: 1000 }, cfg)).toMatchObject({ workers: 50, reason: 'max-workers' });
    expect(rawDesiredWorkers({ ...base, arrivalsPerS: 0.1 }, { ...cfg, minWorkers: 3 })).toMatchObject({ workers: 3, reason: 'min-workers' });
  });

  it('scales up at once, and down only after the stabilisation window (no flapping)', () => {
    const d = new DesiredWorkers(cfg);
    expect(d.decide(base, 0).desiredWorkers).toBe(10);
    expect(d.decide({ ...base, arrivalsPerS: 20 }, 1000).desiredWorkers).toBe(20);
    // a dip, then back up: the signal never drops
    expect(d.decide({ ...base, arrivalsPerS: 5 }, 2000)).toMatchObject({ desiredWorkers: 20, rawWorkers: 5, reason: 'stabilising' });
    expect(d.decide({ ...base, arrivalsPerS: 20 }, 3000).desiredWorkers).toBe(20);
    expect(d.decide({ ...base, arrivalsPerS: 5 }, 30_000).desiredWorkers).toBe(20);
    // the last 20 was at 3000: 60 s later it leaves the window
    expect(d.decide({ ...base, arrivalsPerS: 5 }, 63_001)).toMatchObject({ desiredWorkers: 5, reason: 'load' });
  });

  it('window stats: count, sum and span over whole buckets', () => {
    const w = new WindowStats(1000, 10);
    for (let t = 0; t < 5000; t += 100) w.record(t, 2);
    expect(w.read(4999)).toEqual({ count: 50, sum: 100, spanMs: 4999 });
    expect(w.read(20_000).count).toBe(0);
  });

  it('rejects a config with minWorkers above maxWorkers, and is off by default', () => {
    expect(() => resolveGatewayConfig({ scaling: { minWorkers: 5, maxWorkers: 2 } })).toThrow(/scaling.minWorkers/);
    expect(() => resolveGatewayConfig({ scaling: { targetUtilisation: 1.5 } })).toThrow(/scaling.targetUtilisation/);
    expect(resolveGatewayConfig().scaling.enabled).toBe(false);
  });
});

describe('scaling: the gateway core signal', () => {
  it('is empty when off', () => {
    const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' } }), testRng(1));
    c.onWorkerStatus(makeStatus('w1'), 0);
    expect(c.scalingSignal(0)).toEqual([]);
  });

  it('is fed by arrivals, completions and the queue', () => {
    const c = new GatewayCore(resolveGatewayConfig({ batching: { type: 'none' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } }, scaling: { ...cfg, minWorkers: 0 } }), testRng(1));
    c.onWorkerStatus(makeStatus('w1', { maxConcurrent: 2 }), 0);
    expect(c.scalingSignal(0)).toMatchObject([{ model: 'm', desiredWorkers: 0, reason: 'idle', currentWorkers: 1 }]);
    // 1 request per 100 ms, each held 1 s: 10 busy slots; 2 slots × 0.5 per worker → 10 workers
    for (let i = 0; i < 50; i++) {
      const now = i * 100;
      c.onRequestArrived(makeRequest(`r${i}`), now);
      if (i >= 10) c.onWorkerEvent({ kind: 'done', workerId: 'w1', requestId: `r${i - 10}`, output: { promptTokens: 1, completionTokens: 1, finishReason: 'stop' } }, now);
    }
    const [s] = c.scalingSignal(4950);
    expect(s).toMatchObject({ model: 'm', currentWorkers: 1, inputs: { workers: 1, slotsPerWorker: 2, inFlight: 2 } });
    expect(s!.inputs.queued).toBe(8);
    expect(s!.inputs.arrivalsPerS).toBeCloseTo(10, 0);
    expect(s!.inputs.serviceMs).toBeGreaterThan(0);
    expect(s!.desiredWorkers).toBeGreaterThanOrEqual(2);
  });
});
