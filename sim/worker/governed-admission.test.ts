import { describe, expect, it } from 'vitest';
import { GovernedAdmission } from './governed-admission.js';

describe('GovernedAdmission (core MemoryGovernor in the simulator)', () => {
  const bpt = 10;
  it('packed (default): a short sequence fits beside a long one when the sum fits', () => {
    const m = new GovernedAdmission(100_000, bpt, 0.8, 10);
    m.reserve(4000 * bpt, 0, 'long');
    expect(m.canAdmit(10 * bpt)).toBe(true);
  });
  it('padded (sim-vs-live, mlx-lm batch): the short one costs the long one\'s length, and canAdmit agrees with reserve', () => {
    const m = new GovernedAdmission(100_000, bpt, 0.8, 10, 'padded');
    expect(m.canAdmit(4000 * bpt)).toBe(true); // 4000 x 10 x 2 = 80 000
    m.reserve(4000 * bpt, 0, 'long');
    expect(m.usedBytes).toBe(80_000);
    expect(m.canAdmit(10 * bpt)).toBe(false); // 2 x 4000 x 10 x 2 = 160 000
    expect(() => m.reserve(10 * bpt, 0, 'short')).toThrow(/refused after canAdmit/);
    m.release(4000 * bpt, 1, 'long');
    expect(m.canAdmit(10 * bpt)).toBe(true);
  });
});
