// The bounded LRU: recency, eviction order, stats, and a model-based property test against a
// reference implementation (an array ordered oldest first).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { Lru } from './lru.js';

describe('Lru', () => {
  it('rejects a capacity that is not a positive integer', () => {
    expect(() => new Lru(0)).toThrow(/capacity/);
    expect(() => new Lru(1.5)).toThrow(/capacity/);
  });

  it('evicts the least recently used entry; get refreshes recency, peek and has do not', () => {
    const evicted: string[] = [];
    const lru = new Lru<string, number>(2, (k) => evicted.push(k));
    lru.set('a', 1);
    lru.set('b', 2);
    expect(lru.get('a')).toBe(1); // a is now most recent
    lru.set('c', 3); // evicts b
    expect(evicted).toEqual(['b']);
    expect(lru.has('b')).toBe(false);
    expect(lru.peek('a')).toBe(1); // peek does not refresh a
    lru.set('d', 4); // evicts a (c was set after a's get)
    expect(evicted).toEqual(['b', 'a']);
    expect([...lru.keys()]).toEqual(['c', 'd']);
  });

  it('overwriting a key refreshes it and does not evict', () => {
    const lru = new Lru<string, number>(2);
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('a', 10);
    expect(lru.stats().evictions).toBe(0);
    lru.set('c', 3);
    expect([...lru.keys()]).toEqual(['a', 'c']);
    expect(lru.peek('a')).toBe(10);
  });

  it('counts hits, misses and evictions; peek and has are not counted', () => {
    const lru = new Lru<string, number>(1);
    lru.set('a', 1);
    lru.get('a');
    lru.get('zz');
    lru.peek('a');
    lru.has('a');
    lru.set('b', 2);
    expect(lru.stats()).toEqual({ hits: 1, misses: 1, evictions: 1, size: 1, capacity: 1 });
  });

  it('delete, evictOldest and clear', () => {
    const lru = new Lru<string, number>(3);
    expect(lru.evictOldest()).toBeUndefined();
    lru.set('a', 1);
    lru.set('b', 2);
    lru.set('c', 3);
    expect(lru.delete('b')).toBe(true);
    expect(lru.delete('b')).toBe(false);
    expect(lru.evictOldest()).toEqual(['a', 1]);
    expect(lru.clear()).toBe(1);
    expect(lru.size).toBe(0);
  });

  it('never exceeds capacity and behaves like a reference model under any op sequence', () => {
    const key = fc.integer({ min: 0, max: 7 });
    const op = fc.oneof(
      fc.record({ t: fc.constant('set' as const), k: key, v: fc.integer() }),
      fc.record({ t: fc.constant('get' as const), k: key }),
      fc.record({ t: fc.constant('peek' as const), k: key }),
      fc.record({ t: fc.constant('delete' as const), k: key }),
      fc.record({ t: fc.constant('evict' as const) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 60 }), (capacity, ops) => {
        const evicted: number[] = [];
        const lru = new Lru<number, number>(capacity, (k) => evicted.push(k));
        const model: [number, number][] = []; // oldest first
        const modelEvicted: number[] = [];
        const find = (k: number): number => model.findIndex(([mk]) => mk === k);
        for (const o of ops) {
          if (o.t === 'set') {
            const i = find(o.k);
            if (i >= 0) model.splice(i, 1);
            else if (model.length >= capacity) modelEvicted.push(model.shift()![0]);
            model.push([o.k, o.v]);
            lru.set(o.k, o.v);
          } else if (o.t === 'get') {
            const i = find(o.k);
            const expected = i >= 0 ? model[i]![1] : undefined;
            if (i >= 0) model.push(model.splice(i, 1)[0]!);
            expect(lru.get(o.k)).toBe(expected);
          } else if (o.t === 'peek') {
            const i = find(o.k);
            expect(lru.peek(o.k)).toBe(i >= 0 ? model[i]![1] : undefined);
          } else if (o.t === 'delete') {
            const i = find(o.k);
            if (i >= 0) model.splice(i, 1);
            expect(lru.delete(o.k)).toBe(i >= 0);
          } else {
            const first = model.shift();
            if (first !== undefined) modelEvicted.push(first[0]);
            expect(lru.evictOldest()).toEqual(first);
          }
          expect(lru.size).toBeLessThanOrEqual(capacity);
          expect(lru.size).toBe(model.length);
        }
        expect([...lru.keys()]).toEqual(model.map(([k]) => k));
        expect(evicted).toEqual(modelEvicted);
        expect(lru.stats().evictions).toBe(modelEvicted.length);
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});
