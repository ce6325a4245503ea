// Adaptive batching: size from the latency budget and observed service time, window shrinking with
// queue depth, guard rails [minBatchSize, maxBatchSize] and [0, windowMsMax], per-model overrides.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InferenceRequest } from '../types.js';
import { AdaptiveBatcher, type AdaptiveParams } from './adaptive-batcher.js';

const params: AdaptiveParams = { minBatchSize: 2, maxBatchSize: 16, latencyBudgetMs: 100, windowMsMax: 10, perModel: {} };
const req = (id: string, model = 'm'): InferenceRequest => ({
  id, model, prompt: { kind: 'text', text: id }, promptTokens: 1, prefixBlocks: [], sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false,
});

describe('AdaptiveBatcher', () => {
  it('without observations uses the maximum size and the full window for an empty queue', () => {
    const b = new AdaptiveBatcher(params);
    expect(b.currentLimits('m', 0)).toEqual({ maxBatchSize: 16, windowMs: 10 });
  });

  it('sizes the batch as floor(budget / per-request time)', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('m', 12);
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(8); // floor(100 / 12)
    b.observeServiceMs('m', 12);
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(8);
  });

  it('smooths observations with an EWMA of α = 0.2', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('m', 10); // 10 → size 10
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(10);
    b.observeServiceMs('m', 35); // 0.2·35 + 0.8·10 = 15 → floor(100/15) = 6
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(6);
  });

  it('keeps the size within [minBatchSize, maxBatchSize] whatever the observations', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('slow', 1000);
    expect(b.currentLimits('slow', 0).maxBatchSize).toBe(2);
    b.observeServiceMs('fast', 0.5);
    expect(b.currentLimits('fast', 0).maxBatchSize).toBe(16);
  });

  it('ignores negative, NaN and infinite observations', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('m', 20);
    for (const bad of [-5, Number.NaN, Number.POSITIVE_INFINITY]) b.observeServiceMs('m', bad);
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(5);
  });

  it('shrinks the window as the queue deepens: windowMax × (1 − depth / size), ≥ 0', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('m', 10); // size 10
    expect(b.currentLimits('m', 0).windowMs).toBe(10);
    expect(b.currentLimits('m', 5).windowMs).toBe(5);
    expect(b.currentLimits('m', 8).windowMs).toBeCloseTo(2, 10);
    expect(b.currentLimits('m', 10).windowMs).toBe(0);
    expect(b.currentLimits('m', 50).windowMs).toBe(0);
  });

  it('per-model overrides replace the budget and the maximum for that model only', () => {
    const b = new AdaptiveBatcher({ ...params, perModel: { big: { maxBatchSize: 4 }, chat: { latencyBudgetMs: 40 } } });
    expect(b.currentLimits('big', 0).maxBatchSize).toBe(4);
    b.observeServiceMs('chat', 10);
    b.observeServiceMs('m', 10);
    expect(b.currentLimits('chat', 0).maxBatchSize).toBe(4); // floor(40 / 10)
    expect(b.currentLimits('m', 0).maxBatchSize).toBe(10);
  });

  it('a per-model maximum below minBatchSize is raised to the minimum', () => {
    const b = new AdaptiveBatcher({ ...params, minBatchSize: 3, perModel: { tiny: { maxBatchSize: 1 } } });
    expect(b.currentLimits('tiny', 0).maxBatchSize).toBe(3);
  });

  it('releases batches of the adaptive size; deeper queues leave sooner', () => {
    const b = new AdaptiveBatcher(params);
    b.observeServiceMs('m', 25); // size 4
    b.add(req('a'), 0);
    expect(b.nextDueMs()).toBeCloseTo(7.5, 10); // 10 × (1 − 1/4)
    b.add(req('b'), 1);
    expect(b.nextDueMs()).toBe(5); // 10 × (1 − 2/4)
    b.add(req('c'), 2);
    b.add(req('d'), 2);
    b.add(req('e'), 2);
    const out = b.takeDue(2);
    expect(out.map((x) => x.map((r) => r.id))).toEqual([['a', 'b', 'c', 'd']]);
    expect(b.waiting()).toBe(1);
    expect(b.remove('e')).toBe(true);
    expect(b.waiting()).toBe(0);
  });

  it('guard rails hold for any observations and depth', () => {
    fc.assert(
      fc.property(
        fc.array(fc.double({ min: -10, max: 1e6, noNaN: true }), { maxLength: 20 }),
        fc.integer({ min: 0, max: 10_000 }),
        (obs, depth) => {
          const b = new AdaptiveBatcher(params);
          for (const o of obs) b.observeServiceMs('m', o);
          const lim = b.currentLimits('m', depth);
          expect(Number.isInteger(lim.maxBatchSize)).toBe(true);
          expect(lim.maxBatchSize).toBeGreaterThanOrEqual(params.minBatchSize);
          expect(lim.maxBatchSize).toBeLessThanOrEqual(params.maxBatchSize);
          expect(lim.windowMs).toBeGreaterThanOrEqual(0);
          expect(lim.windowMs).toBeLessThanOrEqual(params.windowMsMax);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
