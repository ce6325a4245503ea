import { describe, expect, it } from 'vitest';
import { PADDED_COPY_FACTOR, reservedBytes } from './batch-layout.js';

describe('batch layout: the KV cost of running sequences', () => {
  it('packed: the sum of the reservations', () => {
    expect(reservedBytes('packed', [{ model: 'a', bytes: 200 }, { model: 'a', bytes: 4000 }, { model: 'b', bytes: 50 }])).toBe(4250);
  });
  it('padded: per model, every sequence at the longest one, twice over while merging', () => {
    expect(PADDED_COPY_FACTOR).toBe(2);
    expect(reservedBytes('padded', [])).toBe(0);
    // the same figures as python/tests/test_kv_accounting.py
    expect(reservedBytes('padded', [200, 4000, 50].map((t) => ({ model: 'm', bytes: t * 10 })))).toBe(3 * 4000 * 10 * 2);
    const h200 = [...Array.from({ length: 127 }, () => 500), 14_000].map((t) => ({ model: 'gpu-1b', bytes: t * 32_768 }));
    expect(reservedBytes('padded', h200)).toBe(128 * 14_000 * 32_768 * 2);
    // two models are two batches
    expect(reservedBytes('padded', [{ model: 'a', bytes: 100 }, { model: 'b', bytes: 1000 }])).toBe(100 * 2 + 1000 * 2);
  });
});
