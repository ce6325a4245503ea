// The load-only policies: round-robin, least-loaded and power-of-two choices (with the injected Rng).
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import type { InferenceRequest, Rng } from '../types.js';
import { LeastLoadedPolicy } from './least-loaded.js';
import { leastLoaded, loadScore, type RoutingContext, type WorkerView } from './policy.js';
import { PowerOfTwoPolicy } from './power-of-two.js';
import { RoundRobinPolicy } from './round-robin.js';
import { testView } from './test-views.js';

const req = { id: 'r', model: 'm', prompt: { kind: 'text', text: '' }, promptTokens: 1, prefixBlocks: [], sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false } as InferenceRequest;
const view = (id: string, inFlight = 0, maxConcurrent = 4): WorkerView => testView(id, inFlight, maxConcurrent);
const ctx = (rng: Rng = () => 0): RoutingContext => ({ nowMs: 0, rng, allWorkerIds: [] });

/** An Rng that replays the given values and counts its calls. */
function scripted(values: number[]): Rng & { calls: number } {
  const f = (() => {
    const v = values[f.calls % values.length]!;
    f.calls++;
    return v;
  }) as Rng & { calls: number };
  f.calls = 0;
  return f;
}

describe('loadScore / leastLoaded', () => {
  it('scores load as inFlight / maxConcurrent, infinite without slots', () => {
    expect(loadScore(view('a', 3, 4))).toBe(0.75);
    expect(loadScore(view('a', 0, 0))).toBe(Number.POSITIVE_INFINITY);
  });
  it('compares fractions, not raw counts, and breaks ties to the earlier candidate', () => {
    expect(leastLoaded([view('a', 2, 4), view('b', 3, 12)])?.id).toBe('b');
    expect(leastLoaded([view('a', 1), view('b', 1), view('c', 2)])?.id).toBe('a');
    expect(leastLoaded([])).toBeUndefined();
  });
});

describe('RoundRobinPolicy', () => {
  it('cycles through the candidates in order, ignoring load', () => {
    const p = new RoundRobinPolicy();
    const cands = [view('a', 3), view('b', 0), view('c', 1)];
    const picks = Array.from({ length: 7 }, () => p.pick(req, cands)!.id);
    expect(picks).toEqual(['a', 'b', 'c', 'a', 'b', 'c', 'a']);
  });
  it('spreads evenly over a changing candidate list and returns undefined when empty', () => {
    const p = new RoundRobinPolicy();
    expect(p.pick(req, [])).toBeUndefined();
    const counts = new Map<string, number>();
    const cands = [view('a'), view('b')];
    for (let i = 0; i < 100; i++) {
      const id = p.pick(req, cands)!.id;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    expect(counts.get('a')).toBe(50);
    expect(counts.get('b')).toBe(50);
  });
});

describe('LeastLoadedPolicy', () => {
  it('picks the candidate with the lowest load fraction', () => {
    const p = new LeastLoadedPolicy();
    expect(p.pick(req, [view('a', 3), view('b', 1), view('c', 2)])?.id).toBe('b');
    expect(p.pick(req, [view('a', 1, 2), view('b', 1, 8)])?.id).toBe('b');
    expect(p.pick(req, [])).toBeUndefined();
  });
});

describe('PowerOfTwoPolicy', () => {
  const p = new PowerOfTwoPolicy();
  it('draws its two choices from the injected Rng (two calls) and takes the less loaded', () => {
    const cands = [view('a', 0), view('b', 3), view('c', 1), view('d', 2)];
    // rng 0.3 → i = floor(0.3·4) = 1 (b); rng 0.5 → j = (1 + 1 + floor(0.5·3)) % 4 = 3 (d).
    const rng = scripted([0.3, 0.5]);
    expect(p.pick(req, cands, ctx(rng))?.id).toBe('d');
    expect(rng.calls).toBe(2);
    // i = 0 (a), j = (0 + 1 + 0) % 4 = 1 (b): a is less loaded.
    expect(p.pick(req, cands, ctx(scripted([0, 0])))?.id).toBe('a');
    // i = 3 (d), j = (3 + 1 + floor(0.99·3)) % 4 = 2 (c): c is less loaded.
    expect(p.pick(req, cands, ctx(scripted([0.99, 0.99])))?.id).toBe('c');
  });

  it('never samples the same candidate twice and always returns the less loaded of its pair', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 8 }), { minLength: 2, maxLength: 12 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (loads, r1, r2) => {
          const cands = loads.map((l, k) => view(`w${k}`, l, 8));
          const n = cands.length;
          const i = Math.floor(r1 * n);
          const j = (i + 1 + Math.floor(r2 * (n - 1))) % n;
          expect(i).not.toBe(j);
          const chosen = p.pick(req, cands, ctx(scripted([r1, r2])))!;
          expect([cands[i]!.id, cands[j]!.id]).toContain(chosen.id);
          expect(chosen.inFlight).toBe(Math.min(loads[i]!, loads[j]!));
        },
      ),
      { seed: 42, numRuns: 300 },
    );
  });

  it('with one candidate returns it without drawing; with none returns undefined', () => {
    const rng = scripted([0.5]);
    expect(p.pick(req, [view('solo', 4)], ctx(rng))?.id).toBe('solo');
    expect(p.pick(req, [], ctx(rng))).toBeUndefined();
    expect(rng.calls).toBe(0);
  });

  it('never picks the most loaded of several workers when the others are lighter', () => {
    const cands = [view('hot', 4), view('a', 0), view('b', 0)];
    let s = 1;
    const lcg: Rng = () => ((s = (s * 48271) % 2147483647) / 2147483647);
    for (let k = 0; k < 200; k++) expect(p.pick(req, cands, ctx(lcg))?.id).not.toBe('hot');
  });
});
