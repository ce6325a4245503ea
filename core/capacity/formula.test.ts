// The architecture document's sizing formula and its headroom; bad input rejected.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { ConfigError } from '../config/config-error.js';
import { workersByFormula } from './formula.js';

const example = { targetRps: 100, avgLatencyS: 2, maxConcurrent: 4, cacheHitRate: 0.85 };

describe('workersByFormula', () => {
  it('reproduces the document: 100 RPS, 2 s, 4 concurrent, 0.85 → 59 workers', () => {
    const r = workersByFormula(example);
    expect(r.exact).toBeCloseTo(58.8235, 3);
    expect(r.workers).toBe(59);
  });

  it('adds headroom: 25 % by default, 20–30 % gives 71–77', () => {
    expect(workersByFormula(example).workersWithHeadroom).toBe(74); // ceil(59 × 1.25) = ceil(73.75)
    expect(workersByFormula({ ...example, headroomFraction: 0.2 }).workersWithHeadroom).toBe(71);
    expect(workersByFormula({ ...example, headroomFraction: 0.3 }).workersWithHeadroom).toBe(77);
    expect(workersByFormula({ ...example, headroomFraction: 0 }).workersWithHeadroom).toBe(59);
  });

  it('does not round an exact integer up through floating-point noise', () => {
    // 0.1 × 30 / (1 × 1) = 3.0000000000000004 in floating point.
    expect(workersByFormula({ targetRps: 0.1, avgLatencyS: 30, maxConcurrent: 1, cacheHitRate: 1 }).workers).toBe(3);
    expect(workersByFormula({ targetRps: 10, avgLatencyS: 1, maxConcurrent: 5, cacheHitRate: 1, headroomFraction: 0.5 })).toMatchObject({ workers: 2, workersWithHeadroom: 3 });
  });

  it('rejects bad input with a ConfigError naming the field', () => {
    const bad: [Partial<typeof example> & { headroomFraction?: number }, string][] = [
      [{ targetRps: 0 }, 'targetRps'],
      [{ targetRps: Number.NaN }, 'targetRps'],
      [{ avgLatencyS: -1 }, 'avgLatencyS'],
      [{ maxConcurrent: 0.5 }, 'maxConcurrent'],
      [{ cacheHitRate: 0 }, 'cacheHitRate'],
      [{ cacheHitRate: 1.2 }, 'cacheHitRate'],
      [{ headroomFraction: -0.1 }, 'headroomFraction'],
    ];
    for (const [over, field] of bad) {
      const run = (): unknown => workersByFormula({ ...example, ...over });
      expect(run).toThrow(ConfigError);
      expect(run).toThrow(new RegExp(`^invalid config: ${field} `));
    }
  });

  it('is the smallest worker count that covers the load, and grows with it', () => {
    fc.assert(
      fc.property(
        fc.double({ min: 0.1, max: 1000, noNaN: true }),
        fc.double({ min: 0.05, max: 30, noNaN: true }),
        fc.integer({ min: 1, max: 64 }),
        fc.double({ min: 0.05, max: 1, noNaN: true }),
        (targetRps, avgLatencyS, maxConcurrent, cacheHitRate) => {
          const r = workersByFormula({ targetRps, avgLatencyS, maxConcurrent, cacheHitRate });
          expect(r.workers).toBeGreaterThanOrEqual(r.exact - 1e-6);
          expect(r.workers - 1).toBeLessThan(r.exact);
          expect(r.workersWithHeadroom).toBeGreaterThanOrEqual(r.workers);
          expect(workersByFormula({ targetRps: targetRps * 2, avgLatencyS, maxConcurrent, cacheHitRate }).workers).toBeGreaterThanOrEqual(r.workers);
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });
});
