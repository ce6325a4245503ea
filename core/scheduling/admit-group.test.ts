import { describe, expect, it } from 'vitest';
import { ADMIT_AT_ONCE, admitGroupError, admitNow } from './admit-group.js';

const group = { minGroup: 4, maxWaitMs: 200 };

describe('admitNow', () => {
  it('at once (minGroup 1) hands every waiting prompt that fits over, as mlx-lm does', () => {
    expect(admitNow(ADMIT_AT_ONCE, { waiting: 3, oldestWaitMs: 0, busy: 10, freeSlots: 22 })).toBe(3);
    expect(admitNow(ADMIT_AT_ONCE, { waiting: 3, oldestWaitMs: 0, busy: 30, freeSlots: 2 })).toBe(2);
  });

  it('holds a short group while the generator is busy, until the group is full or the oldest has waited long enough', () => {
    expect(admitNow(group, { waiting: 3, oldestWaitMs: 199, busy: 20, freeSlots: 12 })).toBe(0);
    expect(admitNow(group, { waiting: 4, oldestWaitMs: 0, busy: 20, freeSlots: 12 })).toBe(4);
    expect(admitNow(group, { waiting: 3, oldestWaitMs: 200, busy: 20, freeSlots: 12 })).toBe(3);
  });

  it('never holds for an idle generator, nor for a group the free slots cannot exceed', () => {
    expect(admitNow(group, { waiting: 1, oldestWaitMs: 0, busy: 0, freeSlots: 32 })).toBe(1);
    expect(admitNow(group, { waiting: 2, oldestWaitMs: 0, busy: 30, freeSlots: 2 })).toBe(2);
  });

  it('admits nothing when nothing waits or nothing fits', () => {
    expect(admitNow(group, { waiting: 0, oldestWaitMs: 500, busy: 3, freeSlots: 10 })).toBe(0);
    expect(admitNow(group, { waiting: 9, oldestWaitMs: 500, busy: 32, freeSlots: 0 })).toBe(0);
  });

  it('validates its configuration', () => {
    expect(admitGroupError(group)).toBeUndefined();
    expect(admitGroupError({ minGroup: 0, maxWaitMs: 1 })).toMatch(/size/);
    expect(admitGroupError({ minGroup: 2.5, maxWaitMs: 1 })).toMatch(/size/);
    expect(admitGroupError({ minGroup: 2, maxWaitMs: -1 })).toMatch(/wait/);
    expect(admitGroupError({ minGroup: 2, maxWaitMs: Number.NaN })).toMatch(/wait/);
  });
});
