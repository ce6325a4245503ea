// Jump consistent hash: range, determinism, minimal movement when a bucket is added, and balance.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { jumpHash } from './jump-hash.js';

const key = fc.integer({ min: 0, max: 0xffffffff });
const buckets = fc.integer({ min: 1, max: 500 });

describe('jumpHash', () => {
  it('always returns a bucket in [0, n)', () => {
    fc.assert(
      fc.property(key, buckets, (k, n) => {
        const b = jumpHash(k, n);
        return Number.isInteger(b) && b >= 0 && b < n;
      }),
      { seed: 42, numRuns: 2000 },
    );
  });

  it('returns -1 when there are no buckets, and 0 for a single bucket', () => {
    expect(jumpHash(123, 0)).toBe(-1);
    expect(jumpHash(123, -3)).toBe(-1);
    for (let k = 0; k < 100; k++) expect(jumpHash(k, 1)).toBe(0);
  });

  it('is a pure function of (key, n)', () => {
    fc.assert(
      fc.property(key, buckets, (k, n) => jumpHash(k, n) === jumpHash(k, n)),
      { seed: 7, numRuns: 500 },
    );
  });

  it('never moves a key between old buckets when a bucket is added: a moved key goes to bucket n', () => {
    fc.assert(
      fc.property(key, buckets, (k, n) => {
        const before = jumpHash(k, n);
        const after = jumpHash(k, n + 1);
        return after === before || after === n;
      }),
      { seed: 42, numRuns: 3000 },
    );
  });

  it('moves about 1/(n+1) of the keys when growing from n to n+1 buckets', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 40 }), fc.integer({ min: 0, max: 1_000_000 }), (n, offset) => {
        const keys = 6000;
        let moved = 0;
        for (let i = 0; i < keys; i++) {
          const k = (offset + i * 2654435761) >>> 0;
          if (jumpHash(k, n) !== jumpHash(k, n + 1)) moved++;
        }
        const expected = 1 / (n + 1);
        // Binomial sd is sqrt(p(1-p)/keys) ≤ 0.0065; allow about 4 sd.
        expect(Math.abs(moved / keys - expected)).toBeLessThan(0.025);
      }),
      { seed: 42, numRuns: 25 },
    );
  });

  it('spreads keys evenly over the buckets', () => {
    const n = 10;
    const keys = 50_000;
    const counts = new Array<number>(n).fill(0);
    for (let k = 0; k < keys; k++) counts[jumpHash(k, n)]!++;
    for (const c of counts) expect(Math.abs(c / keys - 1 / n)).toBeLessThan(0.01);
  });

  it('along a growth path 1 → 64, a key only ever moves to the newest bucket', () => {
    const bad: string[] = [];
    for (let k = 0; k < 300; k++) {
      let prev = jumpHash(k, 1);
      for (let n = 2; n <= 64; n++) {
        const b = jumpHash(k, n);
        if (b !== prev && b !== n - 1) bad.push(`key ${k}: ${prev} → ${b} at n=${n}`);
        prev = b;
      }
    }
    expect(bad).toEqual([]);
  });
});
