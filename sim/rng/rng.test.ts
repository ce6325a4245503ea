// Determinism of derived streams and first/second moments of the samplers.
import { describe, expect, it } from 'vitest';
import { deriveRng } from './rng.js';
import { exponential, gamma, lognormal, normal, uniformInt, zipfSampler } from './samplers.js';

const draws = (f: () => number, n: number): number[] => Array.from({ length: n }, f);
const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
const variance = (xs: number[]): number => { const m = mean(xs); return xs.reduce((a, b) => a + (b - m) ** 2, 0) / xs.length; };

describe('deriveRng', () => {
  it('same seed and component give identical streams; others differ', () => {
    const a = draws(deriveRng(42, 'workload'), 100);
    expect(draws(deriveRng(42, 'workload'), 100)).toEqual(a);
    expect(draws(deriveRng(43, 'workload'), 100)).not.toEqual(a);
    expect(draws(deriveRng(42, 'faults'), 100)).not.toEqual(a);
    for (const x of a) expect(x >= 0 && x < 1).toBe(true);
  });
});

describe('samplers', () => {
  const N = 40_000;
  it('exponential has the requested mean', () => {
    const rng = deriveRng(1, 'exp');
    expect(mean(draws(() => exponential(rng, 5), N))).toBeCloseTo(5, 0);
  });
  it('normal has mean mu and sd sigma', () => {
    const rng = deriveRng(1, 'normal');
    const xs = draws(() => normal(rng, 3, 2), N);
    expect(Math.abs(mean(xs) - 3)).toBeLessThan(0.05);
    expect(Math.abs(Math.sqrt(variance(xs)) - 2)).toBeLessThan(0.05);
  });
  it('gamma has mean shape*scale and variance shape*scale^2 (shape above and below 1)', () => {
    for (const shape of [0.25, 4]) {
      const rng = deriveRng(1, `gamma${shape}`);
      const xs = draws(() => gamma(rng, shape, 2), N);
      expect(Math.abs(mean(xs) / (shape * 2) - 1)).toBeLessThan(0.03);
      expect(Math.abs(variance(xs) / (shape * 4) - 1)).toBeLessThan(0.08);
    }
  });
  it('lognormal has the requested mean and cv', () => {
    const rng = deriveRng(1, 'lognormal');
    const xs = draws(() => lognormal(rng, 100, 0.5), N);
    expect(Math.abs(mean(xs) / 100 - 1)).toBeLessThan(0.02);
    expect(Math.abs(Math.sqrt(variance(xs)) / mean(xs) - 0.5)).toBeLessThan(0.03);
  });
  it('uniformInt covers [min, max] inclusive', () => {
    const rng = deriveRng(1, 'ui');
    const xs = draws(() => uniformInt(rng, 2, 4), 3000);
    expect(new Set(xs)).toEqual(new Set([2, 3, 4]));
    expect(() => uniformInt(rng, 3, 2)).toThrow();
  });
  it('zipf ranks follow 1/k^s within the bounded hot set', () => {
    const z = zipfSampler(deriveRng(1, 'zipf'), 10, 1);
    const counts = new Array<number>(11).fill(0);
    for (let i = 0; i < N; i++) counts[z()]!++;
    expect(counts[0]).toBe(0);
    const h = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10].reduce((a, k) => a + 1 / k, 0);
    expect(Math.abs(counts[1]! / N - 1 / h)).toBeLessThan(0.01);
    expect(Math.abs(counts[10]! / N - 1 / (10 * h))).toBeLessThan(0.005);
    expect(() => zipfSampler(Math.random, 0, 1)).toThrow(/n must be/);
  });
});
