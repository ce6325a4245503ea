// Retries: full-jitter backoff bounds, the gRPC A6 retry budget, and the retry decision (never after
// tokens reached the client, never past attemptsMax, never with an exhausted budget).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { Rng } from '../types.js';
import { cappedExponentialDelayMs, EXPONENT_MAX, fullJitterDelayMs } from './backoff.js';
import { RetryBudget } from './retry-budget.js';
import { RetryPolicy, type RetryParams } from './retry-policy.js';

const constant = (x: number): Rng => () => x;

describe('fullJitterDelayMs', () => {
  it('is uniform(0, min(cap, base·2^(attempt−1))) driven by the injected Rng', () => {
    expect(fullJitterDelayMs(1, 100, 10_000, constant(0.5))).toBe(50);
    expect(fullJitterDelayMs(2, 100, 10_000, constant(0.5))).toBe(100);
    expect(fullJitterDelayMs(3, 100, 10_000, constant(0.25))).toBe(100);
    expect(fullJitterDelayMs(20, 100, 10_000, constant(0.5))).toBe(5000); // capped
    expect(fullJitterDelayMs(1, 100, 10_000, constant(0))).toBe(0);
  });

  it('stays in [0, min(cap, base·2^(attempt−1))] for any attempt and draw', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 10_000, noNaN: true }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (attempt, baseMs, capMs, u) => {
          const d = fullJitterDelayMs(attempt, baseMs, capMs, constant(u));
          const ceiling = Math.min(capMs, baseMs * 2 ** (attempt - 1));
          expect(d).toBeGreaterThanOrEqual(0);
          expect(d).toBeLessThanOrEqual(ceiling);
        },
      ),
      { seed: 42, numRuns: 500 },
    );
  });

  it('spreads delays over the whole range (mean ≈ ceiling / 2)', () => {
    let s = 12345;
    const lcg: Rng = () => (s = (s * 48271) % 2147483647) / 2147483647;
    const n = 5000;
    let sum = 0;
    for (let i = 0; i < n; i++) sum += fullJitterDelayMs(3, 100, 10_000, lcg);
    expect(sum / n).toBeGreaterThan(190);
    expect(sum / n).toBeLessThan(210);
  });
});

describe('cappedExponentialDelayMs (a process\'s own reconnect and restart)', () => {
  it('doubles from base per consecutive failure up to the cap, with no jitter', () => {
    expect([0, 1, 2, 3, 4, 5].map((n) => cappedExponentialDelayMs(n, 250, 5_000))).toEqual([250, 500, 1_000, 2_000, 4_000, 5_000]);
    expect(cappedExponentialDelayMs(-3, 100, 2_000)).toBe(100);
  });
  it('stays finite for any number of failures', () => {
    expect(cappedExponentialDelayMs(10_000, 1, Number.POSITIVE_INFINITY)).toBe(2 ** EXPONENT_MAX);
  });
});

describe('RetryBudget (gRPC A6)', () => {
  it('starts full; each failure takes 1 token; retries only while tokens > max / 2', () => {
    const b = new RetryBudget(10, 0.1);
    expect(b.available()).toBe(10);
    for (let i = 0; i < 4; i++) b.onFailure();
    expect(b.available()).toBe(6);
    expect(b.canRetry()).toBe(true);
    b.onFailure();
    expect(b.available()).toBe(5);
    expect(b.canRetry()).toBe(false); // 5 is not > 5
  });

  it('each success gives back tokenRatio, capped at the maximum; tokens never go below 0', () => {
    const b = new RetryBudget(10, 0.1);
    for (let i = 0; i < 20; i++) b.onFailure();
    expect(b.available()).toBe(0);
    for (let i = 0; i < 51; i++) b.onSuccess();
    expect(b.available()).toBeCloseTo(5.1, 9);
    expect(b.canRetry()).toBe(true);
    for (let i = 0; i < 100; i++) b.onSuccess();
    expect(b.available()).toBe(10);
  });
});

describe('RetryPolicy', () => {
  const params: RetryParams = { attemptsMax: 3, baseDelayMs: 25, capDelayMs: 1000, budgetTokensMax: 10, budgetTokenRatio: 0.1 };

  it('retries a failure with a full-jitter delay', () => {
    const p = new RetryPolicy(params);
    expect(p.decide(1, 0, constant(0.5))).toEqual({ retry: true, delayMs: 12.5 });
    expect(p.decide(2, 0, constant(0.5))).toEqual({ retry: true, delayMs: 25 });
  });

  it('never retries once tokens have been sent to the client', () => {
    const p = new RetryPolicy(params);
    expect(p.decide(1, 1, constant(0.5))).toEqual({ retry: false, reason: 'tokens-sent' });
  });

  it('stops at attemptsMax attempts', () => {
    const p = new RetryPolicy(params);
    expect(p.decide(3, 0, constant(0.5))).toEqual({ retry: false, reason: 'attempts-exhausted' });
    expect(p.decide(4, 0, constant(0.5))).toMatchObject({ retry: false, reason: 'attempts-exhausted' });
  });

  it('stops when the budget is exhausted, and resumes after enough successes', () => {
    const p = new RetryPolicy(params);
    const decisions = Array.from({ length: 6 }, () => p.decide(1, 0, constant(0.5)));
    // Tokens after each failure: 9, 8, 7, 6 (retry), 5 (not > 5: stop), 4.
    expect(decisions.map((d) => d.retry)).toEqual([true, true, true, true, false, false]);
    expect(decisions[4]).toEqual({ retry: false, reason: 'budget-exhausted' });
    expect(p.budget.available()).toBe(4);
    for (let i = 0; i < 21; i++) p.onSuccess(); // 4 + 2.1 = 6.1 → after the next failure 5.1 > 5
    expect(p.decide(1, 0, constant(0.5)).retry).toBe(true);
  });

  it('charges the budget for every failure, even ones it will not retry', () => {
    const p = new RetryPolicy(params);
    p.decide(1, 5, constant(0));
    p.decide(9, 0, constant(0));
    expect(p.budget.available()).toBe(8);
  });
});
