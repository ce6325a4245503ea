import { describe, expect, it } from 'vitest';
import { resolveGatewayConfig } from '../../core/config/validate.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { scaledLatency } from '../latency/scaled.js';
import { getHardware } from '../profiles/hardware.js';
import { getModel } from '../profiles/models.js';
import { chooseCalibration } from './calibration-choice.js';
import { planCapacity, type CapacityQuery } from './planner.js';
import { seedSpread, spreadSeeds } from './seed-spread.js';

const paramsB = (id: string) => getModel(id).totalParams.value / 1e9;

describe('the calibration a capacity answer uses', () => {
  it('70B on an M3 Ultra: the 70B measurement (mlx-lm 0.31, ~170 tok/s prefill at 4K), not the 8–27B fit (~117 tok/s)', () => {
    const hw = getHardware('m3-ultra');
    const chosen = chooseCalibration(hw, paramsB('llama-3.1-70b'));
    expect(chosen.runtime).toBe('mlx-lm-0.31');
    expect(chosen.why).toMatch(/fitted on this size class .*70B.*closest of 2 MLX calibrations/);
    const tokPerS = (runtime: 'mlx' | 'mlx-lm-0.31') => 4096 / (createLatencyModel({ hardware: hw, model: 'llama-3.1-70b', quantization: 'mlx-4bit', runtime }).prefillMs(4096, 0) / 1000);
    expect(tokPerS('mlx-lm-0.31')).toBeGreaterThan(160);
    expect(tokPerS('mlx-lm-0.31')).toBeLessThan(180);
    expect(tokPerS('mlx')).toBeLessThan(125);
  });

  it('an 8B model on the same chip keeps the 8–27B fit; a chip with one MLX calibration says so', () => {
    expect(chooseCalibration(getHardware('m3-ultra'), paramsB('llama-3.1-8b')).runtime).toBe('mlx');
    const pro = chooseCalibration(getHardware('m3-pro'), paramsB('qwen2.5-32b'));
    expect(pro.runtime).toBe('mlx');
    expect(pro.why).toMatch(/nearest in size to 33 B .*the only MLX calibration of this chip/);
  });
});

describe('the capacity search from a hint', () => {
  const query: CapacityQuery = {
    latency: createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' }),
    workload: {
      type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 12 }, arrival: { type: 'poisson' }, durationMs: 20_000,
      promptTokens: { type: 'lognormal', meanTokens: 512, cv: 0.6, minTokens: 16, maxTokens: 4096 },
      outputTokens: { type: 'lognormal', meanTokens: 128, cv: 0.6, minTokens: 8, maxTokens: 512 }, temperature: 0.7,
    },
    gateway: resolveGatewayConfig({ routing: { type: 'least-loaded' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } } }),
    maxSequences: 16, slo: { ttftP95Ms: 3000, itlP95Ms: 250 }, seed: 7, workersMax: 64, meanOutputTokens: 128, meanPromptTokens: 512,
  };

  it('finds the same answer as the full search from a hint above or below it, in fewer trials from a close one', () => {
    const full = planCapacity(query);
    expect(full.workers).not.toBeNull();
    expect(full.workers).toBeGreaterThan(full.lowerBound); // the search had something to find
    const n = full.workers!;
    for (const hint of [Math.max(1, n - 1), n + 1, n * 2]) expect(planCapacity({ ...query, hint }).workers).toBe(n);
    expect(planCapacity({ ...query, hint: n }).trials.length).toBeLessThanOrEqual(full.trials.length);
  });

  it('moves with the assumptions: slower prefill or decode never needs fewer workers', () => {
    const n = planCapacity(query).workers!;
    const slowerPrefill = planCapacity({ ...query, latency: scaledLatency(query.latency, { prefillSpeed: 0.5 }), hint: n }).workers!;
    const slowerDecode = planCapacity({ ...query, latency: scaledLatency(query.latency, { decodeSpeed: 0.5 }), hint: n }).workers!;
    expect(slowerPrefill).toBeGreaterThanOrEqual(n);
    expect(slowerDecode).toBeGreaterThan(n);
  });

  it('a seed spread asks the same question under other seeds: each seed\'s answer is its own exact search', () => {
    const first = planCapacity(query);
    const spread = seedSpread(query, first, spreadSeeds(query.seed, 3));
    expect(spread.seeds).toEqual([7, 8, 9]);
    expect(spread.workers[0]).toBe(first.workers);
    for (const [k, seed] of spread.seeds.entries()) expect(spread.workers[k]).toBe(planCapacity({ ...query, seed }).workers);
    const found = spread.workers.filter((w): w is number => w !== null);
    expect(spread.min).toBe(Math.min(...found));
    expect(spread.max).toBe(Math.max(...found));
    expect(spread.median).toBe([...found].sort((a, b) => a - b)[1]);
    expect(() => spreadSeeds(1, 0)).toThrow(/count/);
    expect(() => seedSpread(query, first, [8, 7])).toThrow(/first seed/);
  });
});
