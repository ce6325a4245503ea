import { describe, expect, it } from 'vitest';
import { answerReuseOf, fitSampledRow, fitStep } from './calibrate.js';

const s = (batch: number, stepMs: number, contextTokens = 45) => ({ batch, contextTokens, stepMs });

describe('fitSampledRow', () => {
  it('is the slope of the sampled step less the greedy step against the batch, through the origin', () => {
    const greedy = [s(1, 3.5), s(4, 5), s(8, 5), s(16, 6.5), s(32, 8.5)];
    const sampled = [s(4, 5.8), s(8, 6.6), s(16, 9.7), s(32, 14.9)]; // 0.2 per row exactly
    expect(fitSampledRow(greedy, sampled)).toBeCloseTo(0.2, 9);
    // the CPU calibration's figures (tiny model, 2 shared cores): small batches are noise, the slope is not
    const g2 = [s(2, 2.83), s(4, 2.80), s(8, 2.64), s(16, 3.20)];
    const s2 = [s(2, 2.59), s(4, 2.91), s(8, 4.59), s(16, 9.00)];
    expect(fitSampledRow(g2, s2)).toBeCloseTo(0.319, 3);
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

describe('answerReuseOf', () => {
  it('is the mean share of the previous answer found cached, each clamped to [0, 1]', () => {
    const r = (firstPromptTokens: number, answerTokens: number, cachedTokens: number) => ({ firstPromptTokens, answerTokens, cachedTokens });
    // the tiny model at temperature 0.7 (the CPU calibration): mostly the first prompt alone, once 14 of 32
    expect(answerReuseOf([r(42, 32, 42), r(41, 32, 41), r(41, 32, 55), r(41, 32, 40)])).toBeCloseTo(14 / 32 / 4, 9);
    expect(answerReuseOf([r(40, 10, 60)])).toBe(1);
    expect(answerReuseOf([r(40, 0, 40)])).toBe(1); // no answer: nothing measured
    expect(answerReuseOf([])).toBe(1);
  });
});
