import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { AdaptiveLimit, msPerToken, type AdaptiveLimitConfig } from './adaptive-limit.js';

const CFG: AdaptiveLimitConfig = { targetMsPerToken: 50, minConcurrent: 4, decreaseFactor: 0.9, increasePerRoundTrip: 1 };

describe('adaptive limit (AIMD)', () => {
  it('shrinks under latency above the target, once per round trip', () => {
    const l = new AdaptiveLimit(CFG, 32);
    expect(l.observe({ dispatchedAtMs: 0, msPerToken: 80, inFlight: 32 }, 32, 1000)).toBe(28); // floor(32 × 0.9)
    // a request dispatched before that decrease measured the old batch: no second decrease
    expect(l.observe({ dispatchedAtMs: 500, msPerToken: 80, inFlight: 31 }, 32, 1100)).toBe(28);
    // one dispatched after it did see the new limit, and is still slow
    expect(l.observe({ dispatchedAtMs: 1000, msPerToken: 80, inFlight: 28 }, 32, 5000)).toBe(25);
    expect(l.decreases).toBe(2);
  });

  it('always drops by at least one, and never below minConcurrent', () => {
    const l = new AdaptiveLimit(CFG, 6);
    let t = 0;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++, t += 10) seen.push(l.observe({ dispatchedAtMs: t, msPerToken: 1000, inFlight: 6 }, 6, t));
    expect(seen).toEqual([5, 4, 4, 4, 4]);
  });

  it('grows back by about one per round trip while the limit is in use, up to the static ceiling', () => {
    const l = new AdaptiveLimit(CFG, 4);
    let t = 0;
    // 4 good samples at limit 4 ≈ one round trip: +1
    for (let i = 0; i < 4; i++) l.observe({ dispatchedAtMs: t, msPerToken: 20, inFlight: 4 }, 8, (t += 10));
    expect(l.limit).toBe(5);
    for (let i = 0; i < 200; i++) l.observe({ dispatchedAtMs: t, msPerToken: 20, inFlight: 8 }, 8, (t += 10));
    expect(l.limit).toBe(8);
  });

  it('does not grow while the worker uses less than half of the limit (app-limited, as AIMDLimit)', () => {
    const l = new AdaptiveLimit(CFG, 10);
    for (let i = 0; i < 100; i++) l.observe({ dispatchedAtMs: i, msPerToken: 20, inFlight: 4 }, 32, i);
    expect(l.limit).toBe(10);
  });

  it('is capped by the static ceiling when it changes', () => {
    const l = new AdaptiveLimit(CFG, 64);
    l.capTo(16);
    expect(l.limit).toBe(16);
    l.capTo(2); // below minConcurrent: the limit stays at minConcurrent (the caller takes the min with the ceiling)
    expect(l.limit).toBe(4);
  });

  it('ignores samples without a signal', () => {
    const l = new AdaptiveLimit(CFG, 16);
    expect(l.observe({ dispatchedAtMs: 0, msPerToken: Number.NaN, inFlight: 16 }, 16, 10)).toBe(16);
  });

  it('stays within [minConcurrent, ceiling] and is deterministic for any sample sequence', () => {
    const sample = fc.record({ dispatchBackMs: fc.integer({ min: 0, max: 20_000 }), msPerToken: fc.double({ min: 0, max: 500, noNaN: true }), inFlight: fc.integer({ min: 0, max: 80 }), stepMs: fc.integer({ min: 0, max: 5000 }) });
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 64 }), fc.integer({ min: 1, max: 64 }), fc.double({ min: 0.1, max: 0.95, noNaN: true }), fc.array(sample, { maxLength: 200 }), (minC, ceiling, factor, samples) => {
        const cfg = { ...CFG, minConcurrent: minC, decreaseFactor: factor };
        const run = () => {
          const l = new AdaptiveLimit(cfg, 64);
          l.capTo(ceiling);
          let now = 0;
          const out: number[] = [];
          for (const s of samples) {
            now += s.stepMs;
            out.push(l.observe({ dispatchedAtMs: now - s.dispatchBackMs, msPerToken: s.msPerToken, inFlight: s.inFlight }, ceiling, now));
          }
          return out;
        };
        const a = run();
        for (const x of a) {
          expect(Number.isInteger(x)).toBe(true);
          expect(x).toBeGreaterThanOrEqual(minC);
          expect(x).toBeLessThanOrEqual(Math.max(minC, ceiling));
        }
        expect(run()).toEqual(a);
      }),
    );
  });
});

describe('msPerToken', () => {
  it('is the decode time per token after the first when the first token was seen', () => {
    expect(msPerToken(0, 200, 1200, 11)).toBe(100);
  });
  it('falls back to the whole attempt per token without a first token, or with one token', () => {
    expect(msPerToken(0, undefined, 1000, 10)).toBe(100);
    expect(msPerToken(0, 300, 1000, 1)).toBe(1000);
    expect(msPerToken(0, undefined, 1000, 0)).toBeNaN();
  });
});
