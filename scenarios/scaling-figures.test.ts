import { describe, expect, it } from 'vitest';
import { scalingSignal } from './catalog/scaling.js';
import { runPolicySet } from './sim-run.js';
import { figures } from './scaling-figures.js';
import type { ScalingSample } from '../sim/cluster/cluster.js';

const cfg = { enabled: true, windowMs: 10_000, targetUtilisation: 0.5, backlogDrainMs: 10_000, scaleDownStabilisationMs: 0, minWorkers: 1, maxWorkers: 50 };

function sample(tMs: number, desiredWorkers: number): ScalingSample {
  const inputs = { arrivalsPerS: 1, completionsPerS: 1, serviceMs: 1000, inFlight: 0, queued: 0, workers: 1, slotsPerWorker: 1 };
  return { tMs, models: [{ model: 'm', currentWorkers: 1, inputs, desiredWorkers, rawWorkers: desiredWorkers, reason: 'load', slotsNeeded: 1 }] };
}

describe('scaling signal figures', () => {
  it('measures the lead time from a rate step to the matching count (rate × W / (c·ρ))', () => {
    // 1 req/s × 1 s / (1 × 0.5) = 2 workers; 3 req/s → 6
    const rate = { type: 'step', steps: [{ atMs: 0, rps: 1 }, { atMs: 100_000, rps: 3 }] } as const;
    const samples = [0, 50_000, 99_000].map((t) => sample(t, 2)).concat([100_000, 110_000, 120_000, 180_000].map((t, i) => sample(t, [3, 5, 6, 6][i]!)));
    expect(figures(samples, rate, cfg)).toMatchObject({ scalingStep0Workers: 2, scalingStep1Workers: 6, scalingStep1LeadTimeMs: 20_000, scalingLeadTimeMsMax: 20_000, scalingDesiredMax: 6 });
  });

  it('the scenario: the signal is sampled, reaches each count within its target, and changes no serving decision', () => {
    const on = runPolicySet(scalingSignal, scalingSignal.candidate, scalingSignal.seed);
    const off = runPolicySet(scalingSignal, scalingSignal.baseline, scalingSignal.seed);
    expect(on.summary.extra.scalingSamples).toBeGreaterThan(100);
    expect(on.summary.extra.scalingLeadTimeMsMax).toBeGreaterThanOrEqual(0);
    expect(on.summary.extra.scalingLeadTimeMsMax).toBeLessThanOrEqual(60_000);
    expect(on.curves?.[0]?.name).toBe('scaling-signal');
    expect(off.curves).toBeUndefined();
    expect(on.summary.outputTokens).toBe(off.summary.outputTokens);
    expect(on.summary.e2eMs).toEqual(off.summary.e2eMs);
  });
});
