// Token bucket: refill, burst cap, debt, wait times, and the bound: it never grants more than
// burst + rate × elapsed over any sequence of requests.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { TokenBucket } from './token-bucket.js';

describe('TokenBucket', () => {
  it('starts full and grants up to its burst at once', () => {
    const b = new TokenBucket(5, 1 / 1000, 0);
    for (let i = 0; i < 5; i++) expect(b.tryTake(1, 0)).toBe(true);
    expect(b.tryTake(1, 0)).toBe(false);
  });

  it('refills continuously at refillPerMs and never above the burst', () => {
    const b = new TokenBucket(10, 0.01, 0); // 10 tokens per second
    expect(b.tryTake(10, 0)).toBe(true);
    expect(b.available(250)).toBeCloseTo(2.5, 10);
    expect(b.tryTake(3, 250)).toBe(false);
    expect(b.tryTake(2, 250)).toBe(true);
    expect(b.available(1e9)).toBe(10);
  });

  it('reports the wait until cost tokens are there; Infinity when cost exceeds the burst', () => {
    const b = new TokenBucket(10, 0.01, 0);
    b.tryTake(10, 0);
    expect(b.waitMs(0, 0)).toBe(0);
    expect(b.waitMs(5, 0)).toBe(500);
    expect(b.waitMs(5, 200)).toBe(300);
    expect(b.waitMs(11, 200)).toBe(Number.POSITIVE_INFINITY);
    expect(new TokenBucket(1, 0, 0).waitMs(0.5, 0)).toBe(0);
  });

  it('charge may go into debt, which delays later requests', () => {
    const b = new TokenBucket(10, 0.01, 0);
    b.charge(15, 0);
    expect(b.available(0)).toBe(-5);
    expect(b.tryTake(1, 0)).toBe(false);
    expect(b.waitMs(1, 0)).toBe(600);
    expect(b.tryTake(1, 600)).toBe(true);
  });

  it('ignores time going backwards', () => {
    const b = new TokenBucket(10, 0.01, 1000);
    b.tryTake(10, 1000);
    expect(b.available(500)).toBe(0);
    expect(b.available(1100)).toBeCloseTo(1, 10);
  });

  it('never grants more than burst + rate × elapsed over any sequence of requests', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 50 }),
        fc.double({ min: 0, max: 0.1, noNaN: true }),
        fc.array(fc.record({ gapMs: fc.integer({ min: 0, max: 500 }), cost: fc.double({ min: 0, max: 20, noNaN: true }) }), { maxLength: 100 }),
        (burst, rate, reqs) => {
          const start = 1000;
          const b = new TokenBucket(burst, rate, start);
          let now = start;
          let granted = 0;
          const violations: string[] = [];
          for (const r of reqs) {
            now += r.gapMs;
            if (b.tryTake(r.cost, now)) granted += r.cost;
            const bound = burst + rate * (now - start);
            if (granted > bound + 1e-9) violations.push(`granted ${granted} > ${bound} at ${now}`);
            if (b.available(now) > burst) violations.push(`holds ${b.available(now)} > burst ${burst}`);
          }
          expect(violations).toEqual([]);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
