import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { DrainRate } from './drain-rate.js';

describe('drain rate', () => {
  it('is unknown until enough completions, then completions per second over the span', () => {
    const r = new DrainRate(1000, 10, 5);
    for (let t = 0; t < 4; t++) r.record(t * 250);
    expect(r.perSecond(1000)).toBeUndefined();
    r.record(1000);
    // 5 completions between the start of bucket 0 and 2000 ms
    expect(r.perSecond(2000)).toBeCloseTo(2.5);
  });

  it('forgets completions older than the window', () => {
    const r = new DrainRate(1000, 10, 1);
    for (let t = 0; t < 100; t++) r.record(t * 10); // 100 in the first second
    expect(r.perSecond(9_999)).toBeCloseTo(10, 0);
    expect(r.perSecond(10_000)).toBeUndefined();
    r.record(15_000);
    expect(r.perSecond(15_500)).toBeCloseTo(1); // one completion, span of one bucket
  });

  it('measures a steady rate within 15 %, whatever the rate and phase', () => {
    fc.assert(fc.property(fc.double({ min: 0.5, max: 500, noNaN: true }), fc.integer({ min: 0, max: 999 }), (perS, phase) => {
      const r = new DrainRate(1000, 10, 1);
      const gap = 1000 / perS;
      let t = phase;
      for (; t < 30_000; t += gap) r.record(t);
      const got = r.perSecond(t)!;
      return Math.abs(got - perS) / perS < 0.15;
    }));
  });
});
