// The warmup pool: slot count at 10–20 % of capacity, take, refill one at a time when idle.
import { describe, expect, it } from 'vitest';
import { WarmupPool } from './warmup-pool.js';

describe('WarmupPool.slotsFor', () => {
  it('sizes the pool at a fraction of the worker capacity, at least one slot', () => {
    expect(WarmupPool.slotsFor(20, 0.1)).toBe(2);
    expect(WarmupPool.slotsFor(20, 0.15)).toBe(3);
    expect(WarmupPool.slotsFor(20, 0.2)).toBe(4);
    expect(WarmupPool.slotsFor(4, 0.1)).toBe(1);
    expect(WarmupPool.slotsFor(6, 0.15)).toBe(1);
    expect(WarmupPool.slotsFor(100, 0.15)).toBe(15);
  });
  it('no pool at fraction 0', () => {
    expect(WarmupPool.slotsFor(20, 0)).toBe(0);
  });
  it('rejects a negative slot count', () => {
    expect(() => new WarmupPool({ slots: -1, refillMs: 10 })).toThrow();
  });
});

describe('WarmupPool', () => {
  it('starts full; each take consumes a slot until none is left', () => {
    const p = new WarmupPool({ slots: 2, refillMs: 100 });
    expect(p.warmSlots(0)).toBe(2);
    expect(p.take(0)).toBe(true);
    expect(p.take(0)).toBe(true);
    expect(p.take(0)).toBe(false);
    expect(p.warmSlots(0)).toBe(0);
  });

  it('refills one slot per refillMs, only while the worker is idle', () => {
    const p = new WarmupPool({ slots: 2, refillMs: 100 });
    p.take(0);
    p.take(0);
    expect(p.refillWhenIdle(false, 0)).toBeUndefined();
    expect(p.refillWhenIdle(true, 10)).toBe(110);
    // A second call while one refill runs does not start another.
    expect(p.refillWhenIdle(true, 50)).toBe(110);
    expect(p.warmSlots(109)).toBe(0);
    expect(p.warmSlots(110)).toBe(1);
    expect(p.refillWhenIdle(true, 110)).toBe(210);
    expect(p.take(150)).toBe(true);
    expect(p.warmSlots(210)).toBe(1);
  });

  it('does not refill a full pool and never exceeds its slots', () => {
    const p = new WarmupPool({ slots: 1, refillMs: 100 });
    expect(p.refillWhenIdle(true, 0)).toBeUndefined();
    p.take(0);
    p.refillWhenIdle(true, 0);
    expect(p.warmSlots(1000)).toBe(1);
    expect(p.refillWhenIdle(true, 1000)).toBeUndefined();
    expect(p.warmSlots(5000)).toBe(1);
  });

  it('an empty pool (0 slots) never gives a warm start', () => {
    const p = new WarmupPool({ slots: 0, refillMs: 100 });
    expect(p.take(0)).toBe(false);
    expect(p.refillWhenIdle(true, 0)).toBeUndefined();
  });
});
