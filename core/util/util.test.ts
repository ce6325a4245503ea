// Utilities: FNV-1a reference vectors, the streaming 64-bit hash, mix32, the min-heap, invariant.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { invariant, invariantFailed, InvariantError } from './assert.js';
import { fnv1a32, Hash64, mix32 } from './hash.js';
import { MinHeap } from './min-heap.js';

describe('hashing', () => {
  it('fnv1a32 matches the reference vectors', () => {
    expect(fnv1a32('')).toBe(0x811c9dc5);
    expect(fnv1a32('a')).toBe(0xe40c292c);
    expect(fnv1a32('foobar')).toBe(0xbf9cf968);
  });

  it('Hash64 gives 16 hex digits, is deterministic, and keeps field boundaries', () => {
    const h = (...fields: string[]): string => fields.reduce((acc, f) => acc.str(f), new Hash64()).hex();
    expect(h('abc')).toMatch(/^[0-9a-f]{16}$/);
    expect(h('ab', 'c')).toBe(h('ab', 'c'));
    expect(h('ab', 'c')).not.toBe(h('a', 'bc'));
    expect(h('abc')).not.toBe(h('ab', 'c'));
    expect(h('', 'a')).not.toBe(h('a', ''));
    expect(new Hash64().num(1).hex()).not.toBe(new Hash64().num(undefined).hex());
    expect(new Hash64().num(1).hex()).toBe(new Hash64().str('1').hex());
  });

  it('Hash64 keeps the values it had before its loop was rewritten for speed (issue 16: cached fingerprints stay valid)', () => {
    expect(new Hash64().str('hello').str('').num(3).hex()).toBe('d00db9f991e10988');
    expect(new Hash64().str('model').str('text').str('é漢字🙂 long prompt '.repeat(20)).hex()).toBe('2e06327f1dbeceb8');
  });

  it('mix32 maps consecutive keys to distinct unsigned 32-bit values', () => {
    const seen = new Set<number>();
    let outOfRange = 0;
    for (let i = 0; i < 10_000; i++) {
      const v = mix32(i);
      if (v >>> 0 !== v) outOfRange++;
      seen.add(v);
    }
    expect(outOfRange).toBe(0);
    expect(seen.size).toBe(10_000);
  });
});

describe('MinHeap', () => {
  it('pops in the order of its comparison, whatever the push order', () => {
    fc.assert(
      fc.property(fc.array(fc.integer({ min: -1000, max: 1000 }), { maxLength: 200 }), (xs) => {
        const h = new MinHeap<number>((a, b) => a < b);
        for (const x of xs) h.push(x);
        expect(h.size).toBe(xs.length);
        expect(h.peek()).toBe(xs.length === 0 ? undefined : Math.min(...xs));
        const out: number[] = [];
        for (let v = h.pop(); v !== undefined; v = h.pop()) out.push(v);
        expect(out).toEqual([...xs].sort((a, b) => a - b));
        expect(h.size).toBe(0);
      }),
      { seed: 42, numRuns: 200 },
    );
  });

  it('interleaved push and pop always return the current minimum', () => {
    fc.assert(
      fc.property(fc.array(fc.option(fc.integer(), { nil: undefined }), { maxLength: 200 }), (ops) => {
        const h = new MinHeap<number>((a, b) => a < b);
        const model: number[] = [];
        for (const o of ops) {
          if (o === undefined) {
            model.sort((a, b) => a - b);
            expect(h.pop()).toBe(model.shift());
          } else {
            h.push(o);
            model.push(o);
          }
        }
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('invariant', () => {
  it('throws an InvariantError naming what was violated, and passes otherwise', () => {
    expect(() => invariant(false, 'queue bounded')).toThrow(InvariantError);
    expect(() => invariant(0, 'queue bounded')).toThrow(/invariant violated: queue bounded/);
    expect(() => invariant(true, 'x')).not.toThrow();
  });

  it('invariantFailed throws the same error as a failed invariant', () => {
    expect(() => invariantFailed('queue bounded')).toThrow(InvariantError);
    expect(() => invariantFailed('queue bounded')).toThrow(/^invariant violated: queue bounded$/);
  });
});
