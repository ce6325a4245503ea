import { describe, expect, it } from 'vitest';
import { fitJoin, joinPromptTokens } from './calibrate-join.js';

const s = (joiners: number, extraMs: number) => ({ joiners, extraMs, quietStepMs: 15 });

describe('fitJoin', () => {
  it('fits perStepMs + perPromptMs·k on the medians per group size, net of the prompts prefill', () => {
    const f = fitJoin([s(1, 100), s(1, 95), s(1, 300), s(4, 160), s(4, 150), s(4, 170)], 10);
    expect(f.perStepMs).toBeCloseTo(80, 9); // medians 100 and 160, less 10 and 40 of prefill: (1, 90), (4, 120)
    expect(f.perPromptMs).toBeCloseTo(10, 9);
  });

  it('never returns a negative cost', () => {
    expect(fitJoin([s(1, 200), s(4, 100)], 0)).toEqual({ perStepMs: 150, perPromptMs: 0 });
    const f = fitJoin([s(1, 5), s(4, 200)], 0);
    expect(f.perStepMs).toBe(0);
    expect(f.perPromptMs).toBeGreaterThan(0);
    expect(fitJoin([], 5)).toEqual({ perStepMs: 0, perPromptMs: 0 });
    expect(fitJoin([s(2, 3)], 5)).toEqual({ perStepMs: 0, perPromptMs: 0 });
  });
});

describe('joinPromptTokens', () => {
  it('gives each joining prompt a new length around the asked one (a new prefill shape, as live prompts come)', () => {
    const lengths = Array.from({ length: 12 }, (_, seq) => joinPromptTokens(512, seq));
    expect(new Set(lengths).size).toBe(12);
    for (const n of lengths) expect(Math.abs(n - 512)).toBeLessThanOrEqual(32);
    expect(Math.abs(lengths.reduce((a, n) => a + n, 0) / 12 - 512)).toBeLessThan(16);
    expect(joinPromptTokens(8, 0)).toBeGreaterThanOrEqual(1);
  });
});
