// The simulated worker charges the grammar mask of structured-output rows (SequenceInput.constrained):
// constrainedRowMs per decoding constrained row per step (CONSTRAINED_ROW_MS_DEFAULT, measured in the
// runtime), nothing for free-text rows.
import { describe, expect, it } from 'vitest';
import { CONSTRAINED_ROW_MS_DEFAULT } from './worker.js';
import { req, run } from './worker-harness.js';

const batch = (constrained: number) => Array.from({ length: 8 }, (_, i) => ({ atMs: 0, input: req(`r${i}`, 64, 200, i < constrained ? { constrained: true } : {}) }));
const decodeSteps = (r: ReturnType<typeof run>) => r.steps.filter((s) => s.prefillTokens === 0 && s.continuing === 8);

describe('simulated worker: constrained rows', () => {
  it('a decode step of 8 rows costs 8 × constrainedRowMs more when all are constrained, 2 × with 2, nothing with none', () => {
    const base = decodeSteps(run({}, batch(0)));
    const two = decodeSteps(run({}, batch(2)));
    const all = decodeSteps(run({}, batch(8)));
    expect(base.length).toBeGreaterThan(100);
    for (let i = 0; i < 50; i++) {
      expect(two[i]!.durationMs - base[i]!.durationMs).toBeCloseTo(2 * CONSTRAINED_ROW_MS_DEFAULT, 9);
      expect(all[i]!.durationMs - base[i]!.durationMs).toBeCloseTo(8 * CONSTRAINED_ROW_MS_DEFAULT, 9);
    }
  });

  it('the row cost is configurable, and refused when negative', () => {
    const base = decodeSteps(run({}, batch(0)));
    const costly = decodeSteps(run({ constrainedRowMs: 5 }, batch(8)));
    expect(costly[10]!.durationMs - base[10]!.durationMs).toBeCloseTo(40, 9);
    expect(() => run({ constrainedRowMs: -1 }, batch(1))).toThrow(/constrainedRowMs must be a finite number >= 0/);
  });
});
