import { describe, expect, it } from 'vitest';
import { StepCostModel, type StepCostPrior } from './step-cost.js';
import { planStep, tokenBudget, validatePlannerConfig, type StepPlannerConfig } from './step-planner.js';

// decode = 10 + 1·B + 2·ctx/1024 ms; prefill = 5 ms a pass + 100 ms per 1024 tokens.
const prior: StepCostPrior = { baseMs: 10, perSequenceMs: 1, perKiloContextMs: 2, prefillPassMs: 5, perKiloPrefillTokensMs: 100 };
const cfg: StepPlannerConfig = { itlTargetMs: 100, decodeShareMax: 0.8, maxSequences: 64, minChunkTokens: 32, maxChunkTokens: 2048, latencyFloorFactor: 2 };

describe('step cost model', () => {
  it('predicts from its prior before any observation', () => {
    const m = new StepCostModel(prior);
    expect(m.decodeMs(20, 10_240)).toBeCloseTo(10 + 20 + 20, 9);
    expect(m.predictMs(20, 10_240, 512)).toBeCloseTo(50 + 5 + 50, 9);
    expect(m.msPerPrefillToken()).toBeCloseTo(100 / 1024, 12);
  });

  it('learns a different machine from measured steps (recursive least squares)', () => {
    const truth = (b: number, ctx: number, p: number): number => 4 + 0.5 * b + (3 * ctx) / 1024 + (p > 0 ? 12 : 0) + (40 * p) / 1024;
    const m = new StepCostModel(prior);
    for (let i = 0; i < 400; i++) {
      const b = (i * 7) % 50;
      const ctx = b * ((i * 131) % 900);
      const p = i % 3 === 0 ? 0 : (i * 97) % 2048;
      m.observe(b, ctx, p, truth(b, ctx, p));
    }
    for (const [b, ctx, p] of [[1, 100, 0], [32, 20_000, 0], [16, 8000, 700], [48, 40_000, 2000]] as const) expect(m.predictMs(b, ctx, p)).toBeCloseTo(truth(b, ctx, p), 2);
    expect(m.observations).toBe(400);
  });

  it('refuses a negative or non-finite prior, naming the field', () => {
    expect(() => new StepCostModel({ ...prior, perSequenceMs: -1 })).toThrow(/perSequenceMs/);
    expect(() => new StepCostModel({ ...prior, baseMs: Number.NaN })).toThrow(/baseMs/);
  });
});

describe('step planner', () => {
  const cost = new StepCostModel(prior);

  it('budgets prefill tokens to what the ITL target leaves after the decode pass', () => {
    // decode(20, 10240) = 50 ms; 100 − 50 − 5 = 45 ms at 100/1024 ms a token → 460 tokens.
    expect(tokenBudget(cfg, cost, 20, 10_240)).toBe(460);
    expect(tokenBudget(cfg, cost, 0, 0)).toBe(cfg.maxChunkTokens); // nobody is waiting for a token
    expect(tokenBudget(cfg, cost, 60, 60_000)).toBe(cfg.minChunkTokens); // decode alone is over: progress anyway
  });

  it('gives the budget to prefilling sequences in admission order, then admits FCFS', () => {
    const plan = planStep(cfg, cost, { decoding: 20, decodeContextTokens: 10_240, prefilling: [{ leftTokens: 300, promptTokens: 900 }], waiting: [{ prefillTokens: 100, promptTokens: 100 }, { prefillTokens: 5000, promptTokens: 5000 }, { prefillTokens: 10, promptTokens: 10 }] });
    expect(plan.chunks).toEqual([300, 100, 60]);
    expect(plan.admit).toBe(2); // the long prompt is admitted with what is left; the short one behind it waits its turn
    expect(plan.prefillTokens).toBe(460);
    expect(plan.predictedMs).toBeCloseTo(50 + 5 + (100 * 460) / 1024, 9);
  });

  it('does not starve a long prompt: it keeps the head of the budget until it is done', () => {
    let left = 6000;
    let steps = 0;
    while (left > 0) {
      const plan = planStep(cfg, cost, { decoding: 20, decodeContextTokens: 10_240, prefilling: [{ leftTokens: left, promptTokens: 6000 }], waiting: [{ prefillTokens: 50, promptTokens: 50 }] });
      left -= plan.chunks[0]!;
      steps++;
      if (left > 0) expect(plan.admit).toBe(0);
    }
    expect(steps).toBe(Math.ceil(6000 / 460));
  });

  it('stops admitting where the decode pass would pass its share of the target, and at maxSequences', () => {
    // decode(B, ctx) ≤ 80 ms with 1024-token contexts: 10 + B + 2B ≤ 80 → B ≤ 23.
    const waiting = Array.from({ length: 40 }, () => ({ prefillTokens: 1, promptTokens: 1024 }));
    const plan = planStep({ ...cfg, minChunkTokens: 64 }, cost, { decoding: 10, decodeContextTokens: 10 * 1024, prefilling: [], waiting });
    expect(10 + plan.admit).toBe(23);
    const capped = planStep({ ...cfg, maxSequences: 12 }, cost, { decoding: 10, decodeContextTokens: 10 * 1024, prefilling: [], waiting });
    expect(capped.admit).toBe(2);
  });

  it('on a machine too slow for the target, works to a multiple of one sequence\'s decode step instead', () => {
    // decode(1) = 90 ms (a CPU): the 100 ms target would hold the batch at one sequence and prefill at 32 tokens.
    const slow = new StepCostModel({ baseMs: 86, perSequenceMs: 4, perKiloContextMs: 0, prefillPassMs: 0, perKiloPrefillTokensMs: 1024 });
    const waiting = Array.from({ length: 40 }, () => ({ prefillTokens: 4, promptTokens: 64 }));
    const plan = planStep(cfg, slow, { decoding: 1, decodeContextTokens: 64, prefilling: [], waiting });
    // target 180 ms: admit while 86 + 4·(B+1) ≤ 144 → B ≤ 14; budget (180 − 90) ms at 1 ms a token = 90 tokens
    expect(plan.tokenBudget).toBe(90);
    expect(1 + plan.admit).toBe(14);
    const strict = planStep({ ...cfg, latencyFloorFactor: 1 }, slow, { decoding: 1, decodeContextTokens: 64, prefilling: [], waiting });
    expect(strict.admit).toBe(0);
    expect(strict.tokenBudget).toBe(cfg.minChunkTokens);
  });

  it('always admits the first sequence of an idle worker', () => {
    const huge = new StepCostModel({ ...prior, baseMs: 1000 });
    expect(planStep(cfg, huge, { decoding: 0, decodeContextTokens: 0, prefilling: [], waiting: [{ prefillTokens: 10, promptTokens: 10 }] }).admit).toBe(1);
  });

  it('validates its config, naming the field', () => {
    expect(() => validatePlannerConfig({ ...cfg, itlTargetMs: 0 })).toThrow(/itlTargetMs/);
    expect(() => validatePlannerConfig({ ...cfg, minChunkTokens: 4096 })).toThrow(/minChunkTokens/);
    expect(() => validatePlannerConfig({ ...cfg, decodeShareMax: 2 })).toThrow(/decodeShareMax/);
    expect(() => validatePlannerConfig({ ...cfg, latencyFloorFactor: 0 })).toThrow(/latencyFloorFactor/);
  });
});
