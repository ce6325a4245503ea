import { describe, expect, it } from 'vitest';
import { fitSampledRow, fitStep } from './calibrate.js';

const s = (batch: number, stepMs: number, contextTokens = 45) => ({ batch, contextTokens, stepMs });

describe('fitSampledRow', () => {
  it('is the median over batch sizes of the sampled step less the greedy step, per row', () => {
    const greedy = [s(1, 3.5), s(4, 5), s(8, 5), s(16, 6.5), s(32, 8.5)];
    const sampled = [s(4, 5.4), s(8, 6.6), s(16, 9.7), s(32, 15)]; // 0.1, 0.2, 0.2, 0.203 per row
    expect(fitSampledRow(greedy, sampled)).toBeCloseTo(0.2, 9);
  });

  it('never returns a negative cost, and 0 when no batch size pairs up', () => {
    expect(fitSampledRow([s(8, 6), s(16, 8)], [s(8, 5), s(16, 7)])).toBe(0);
    expect(fitSampledRow([s(8, 6)], [s(16, 9)])).toBe(0);
    expect(fitSampledRow([], [])).toBe(0);
  });
});

describe('fitStep', () => {
  it('recovers a + b·B + c·B·ctx/1000 from exact samples', () => {
    const f = (b: number, ctx: number) => 3 + 0.2 * b + (0.1 * b * ctx) / 1000;
    const fit = fitStep([1, 4, 16, 32].flatMap((b) => [s(b, f(b, 45), 45), s(b, f(b, 2000), 2000)]));
    expect(fit.a).toBeCloseTo(3, 6);
    expect(fit.b).toBeCloseTo(0.2, 6);
    expect(fit.c).toBeCloseTo(0.1, 6);
  });
});
