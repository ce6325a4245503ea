// Micro-batching: a per-model FIFO released when it holds maxBatchSize requests or its oldest request
// has waited windowMs; removal of waiting requests; the 'none' variant passes requests straight on.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InferenceRequest } from '../types.js';
import { createBatcher } from './factory.js';
import { MicroBatcher } from './micro-batcher.js';

const req = (id: string, model = 'm'): InferenceRequest => ({
  id, model, prompt: { kind: 'text', text: id }, promptTokens: 1, prefixBlocks: [], sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false,
});
const ids = (batches: InferenceRequest[][]): string[][] => batches.map((b) => b.map((r) => r.id));

describe('MicroBatcher', () => {
  it('holds requests until the window of the oldest has passed', () => {
    const b = new MicroBatcher(10, 4);
    b.add(req('a'), 100);
    b.add(req('b'), 105);
    expect(b.nextDueMs()).toBe(110);
    expect(b.takeDue(109)).toEqual([]);
    expect(b.waiting()).toBe(2);
    expect(ids(b.takeDue(110))).toEqual([['a', 'b']]);
    expect(b.waiting()).toBe(0);
    expect(b.nextDueMs()).toBeUndefined();
  });

  it('releases a full batch at once, before the window ends', () => {
    const b = new MicroBatcher(10, 3);
    for (const id of ['a', 'b', 'c', 'd']) b.add(req(id), 0);
    expect(ids(b.takeDue(0))).toEqual([['a', 'b', 'c']]);
    expect(b.waiting()).toBe(1);
    expect(ids(b.takeDue(10))).toEqual([['d']]);
  });

  it('takeModel releases everything waiting for one model, due or not, in batches of at most maxBatchSize', () => {
    const b = new MicroBatcher(10, 2);
    for (const id of ['a', 'b', 'c']) b.add(req(id), 0);
    b.add(req('x', 'other'), 0);
    expect(ids(b.takeModel('m'))).toEqual([['a', 'b'], ['c']]);
    expect(b.takeModel('m')).toEqual([]);
    expect(b.takeModel('unknown')).toEqual([]);
    expect(b.waiting()).toBe(1);
    expect(b.nextDueMs()).toBe(10);
  });

  it('never releases more than maxBatchSize in one batch', () => {
    const b = new MicroBatcher(5, 2);
    for (let k = 0; k < 7; k++) b.add(req(`r${k}`), 0);
    const out = b.takeDue(5);
    expect(out.map((x) => x.length)).toEqual([2, 2, 2, 1]);
    expect(out.flat().map((r) => r.id)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4', 'r5', 'r6']);
  });

  it('keeps one queue per model; each batch holds one model', () => {
    const b = new MicroBatcher(10, 8);
    b.add(req('a1', 'A'), 0);
    b.add(req('b1', 'B'), 3);
    b.add(req('a2', 'A'), 4);
    expect(b.nextDueMs()).toBe(10);
    expect(ids(b.takeDue(10))).toEqual([['a1', 'a2']]);
    expect(b.nextDueMs()).toBe(13);
    expect(ids(b.takeDue(13))).toEqual([['b1']]);
  });

  it('remove takes a waiting request out; unknown ids return false', () => {
    const b = new MicroBatcher(10, 8);
    b.add(req('a'), 0);
    b.add(req('b'), 1);
    expect(b.remove('a')).toBe(true);
    expect(b.remove('a')).toBe(false);
    expect(b.remove('zzz')).toBe(false);
    expect(b.waiting()).toBe(1);
    expect(ids(b.takeDue(100))).toEqual([['b']]);
  });

  // Regression: after a full batch left, the rest of the queue restarted its window at the take time,
  // so a request whose window had already expired waited up to another whole window.
  it('leftovers of a full batch keep their own arrival time', () => {
    const b = new MicroBatcher(10, 2);
    b.add(req('a'), 0);
    b.add(req('b'), 1);
    b.add(req('c'), 2);
    expect(ids(b.takeDue(20))).toEqual([['a', 'b'], ['c']]);
    const b2 = new MicroBatcher(10, 2);
    b2.add(req('a'), 0);
    b2.add(req('b'), 1);
    b2.add(req('c'), 5);
    expect(ids(b2.takeDue(5))).toEqual([['a', 'b']]);
    expect(b2.nextDueMs()).toBe(15);
  });

  // Regression: removing the oldest request must not release the next one early.
  it('after removing the oldest request the window runs from the next oldest', () => {
    const b = new MicroBatcher(10, 4);
    b.add(req('a'), 0);
    b.add(req('b'), 8);
    b.remove('a');
    expect(b.nextDueMs()).toBe(18);
    expect(b.takeDue(10)).toEqual([]);
    expect(ids(b.takeDue(18))).toEqual([['b']]);
  });

  it('after takeDue(t) no waiting request is past its window; none is lost or duplicated (random ops)', () => {
    const op = fc.oneof(
      fc.record({ kind: fc.constant('add' as const), gapMs: fc.integer({ min: 0, max: 15 }), model: fc.constantFrom('A', 'B') }),
      fc.record({ kind: fc.constant('take' as const), gapMs: fc.integer({ min: 0, max: 30 }) }),
    );
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 1, max: 5 }), fc.array(op, { maxLength: 50 }), (windowMs, maxBatchSize, ops) => {
        const b = new MicroBatcher(windowMs, maxBatchSize);
        const arrivedAt = new Map<string, number>();
        const waiting = new Set<string>();
        let now = 0;
        const take = (t: number): void => {
          for (const batch of b.takeDue(t)) {
            expect(batch.length).toBeGreaterThan(0);
            expect(batch.length).toBeLessThanOrEqual(maxBatchSize);
            expect(new Set(batch.map((r) => r.model)).size).toBe(1);
            for (const r of batch) expect(waiting.delete(r.id)).toBe(true);
          }
          for (const id of waiting) expect(arrivedAt.get(id)! + windowMs).toBeGreaterThan(t);
          expect(b.waiting()).toBe(waiting.size);
        };
        ops.forEach((o, k) => {
          now += o.gapMs;
          if (o.kind === 'take') return take(now);
          const id = `r${k}`;
          arrivedAt.set(id, now);
          waiting.add(id);
          b.add(req(id, o.model), now);
        });
        take(now + windowMs);
        expect(waiting.size).toBe(0);
        expect(b.nextDueMs()).toBeUndefined();
      }),
      { seed: 42, numRuns: 200 },
    );
  });
});

describe('createBatcher', () => {
  it("'none' releases each request at its arrival instant", () => {
    const b = createBatcher({ type: 'none' });
    b.add(req('a'), 7);
    b.add(req('b'), 7);
    expect(b.nextDueMs()).toBe(7);
    expect(ids(b.takeDue(7))).toEqual([['a', 'b']]);
  });
  it("'micro' and 'adaptive' build the matching batchers", () => {
    expect(createBatcher({ type: 'micro', windowMs: 5, maxBatchSize: 4 }).name).toBe('micro');
    expect(createBatcher({ type: 'adaptive', minBatchSize: 1, maxBatchSize: 8, latencyBudgetMs: 50, windowMsMax: 10, perModel: {} }).name).toBe('adaptive');
  });
});
