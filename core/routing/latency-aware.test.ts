// Latency-aware routing: EWMA update formula, score = ewma × (inFlight + 1), prior for new workers.
import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../types.js';
import { LatencyAwarePolicy } from './latency-aware.js';
import type { WorkerView } from './policy.js';
import { testView } from './test-views.js';

const req = { id: 'r', model: 'm', prompt: { kind: 'text', text: '' }, promptTokens: 1, prefixBlocks: [], sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false } as InferenceRequest;
const view = (id: string, inFlight = 0): WorkerView => testView(id, inFlight, 8);

describe('LatencyAwarePolicy', () => {
  it('starts the EWMA at the first sample, then ewma ← α·x + (1 − α)·ewma', () => {
    const p = new LatencyAwarePolicy(0.3);
    expect(p.latencyEwmaMs('a')).toBeUndefined();
    p.onRequestComplete('a', req, 100);
    expect(p.latencyEwmaMs('a')).toBe(100);
    p.onRequestComplete('a', req, 200);
    expect(p.latencyEwmaMs('a')).toBeCloseTo(0.3 * 200 + 0.7 * 100, 10);
    p.onRequestComplete('a', req, 0);
    expect(p.latencyEwmaMs('a')).toBeCloseTo(0.7 * 130, 10);
  });

  it('with α = 1 tracks the last sample only', () => {
    const p = new LatencyAwarePolicy(1);
    p.onRequestComplete('a', req, 100);
    p.onRequestComplete('a', req, 40);
    expect(p.latencyEwmaMs('a')).toBe(40);
  });

  it('prefers the faster worker at equal load', () => {
    const p = new LatencyAwarePolicy(0.5);
    p.onRequestComplete('slow', req, 500);
    p.onRequestComplete('fast', req, 100);
    expect(p.pick(req, [view('slow'), view('fast')])?.id).toBe('fast');
  });

  it('weights latency by queue: score = ewma × (inFlight + 1)', () => {
    const p = new LatencyAwarePolicy(0.5);
    p.onRequestComplete('slow', req, 300);
    p.onRequestComplete('fast', req, 100);
    // fast with 2 in flight: 100·3 = 300 vs slow idle: 300·1 = 300 → tie broken towards fewer in flight.
    expect(p.pick(req, [view('fast', 2), view('slow', 0)])?.id).toBe('slow');
    // fast with 1 in flight: 200 < 300.
    expect(p.pick(req, [view('slow', 0), view('fast', 1)])?.id).toBe('fast');
    // fast with 3 in flight: 400 > 300.
    expect(p.pick(req, [view('fast', 3), view('slow', 0)])?.id).toBe('slow');
  });

  it('scores a never-observed worker with the mean EWMA so it gets traffic', () => {
    const p = new LatencyAwarePolicy(0.5);
    p.onRequestComplete('a', req, 100);
    p.onRequestComplete('b', req, 300);
    // new: prior 200 → better than b (300), worse than a (100).
    expect(p.pick(req, [view('b'), view('new')])?.id).toBe('new');
    expect(p.pick(req, [view('new'), view('a')])?.id).toBe('a');
  });

  it('with nothing observed falls back to the least in flight', () => {
    const p = new LatencyAwarePolicy(0.5);
    expect(p.pick(req, [view('a', 2), view('b', 1), view('c', 3)])?.id).toBe('b');
    expect(p.pick(req, [])).toBeUndefined();
  });

  it('forgets a removed worker', () => {
    const p = new LatencyAwarePolicy(0.5);
    p.onRequestComplete('a', req, 50);
    p.onWorkerRemoved('a');
    expect(p.latencyEwmaMs('a')).toBeUndefined();
  });

  it('keeps scoring by the latest EWMA once it is mirrored by slot', () => {
    const p = new LatencyAwarePolicy(1);
    const [a, b] = [view('a'), view('b')]; // one view object per worker, as the gateway core keeps them
    p.onRequestComplete('a', req, 100);
    p.onRequestComplete('b', req, 200);
    expect(p.pick(req, [a, b])?.id).toBe('a'); // mirrors both
    expect(p.pick(req, [a, b])?.id).toBe('a'); // read from the mirror
    p.onRequestComplete('a', req, 300); // a is now slower: the mirrored figure follows
    expect(p.pick(req, [a, b])?.id).toBe('b');
    p.onWorkerRemoved('b');
    expect(p.pick(req, [a, b])?.id).toBe('a'); // b forgotten: the prior (300) ties a, first wins (b's old 200 would win)
  });

  it("a worker that takes a departed worker's slot starts from the prior, not the other's figure", () => {
    const p = new LatencyAwarePolicy(1);
    const old: WorkerView = { id: 'old', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 900 };
    const heir: WorkerView = { id: 'heir', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 900 };
    const mid: WorkerView = { id: 'mid', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 901 };
    p.onRequestComplete('old', req, 10);
    p.onRequestComplete('mid', req, 100);
    expect(p.pick(req, [mid, old])?.id).toBe('old'); // mirrors old's 10 into slot 900
    p.onWorkerRemoved('old');
    // heir in slot 900 is never observed: prior = mean(100) = 100, a tie with mid broken by order.
    expect(p.pick(req, [mid, heir])?.id).toBe('mid');
    p.onRequestComplete('heir', req, 50);
    expect(p.pick(req, [mid, heir])?.id).toBe('heir');
  });

  it('follows a worker whose slot changed (it left and came back)', () => {
    const p = new LatencyAwarePolicy(1);
    const first: WorkerView = { id: 'w', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 910 };
    const other: WorkerView = { id: 'o', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 911 };
    p.onRequestComplete('w', req, 10);
    p.onRequestComplete('o', req, 100);
    expect(p.pick(req, [other, first])?.id).toBe('w');
    const moved: WorkerView = { ...first, slot: 912 };
    p.onRequestComplete('w', req, 500); // now slow; recorded before the pick sees the new slot
    expect(p.pick(req, [other, moved])?.id).toBe('o');
    const reused: WorkerView = { id: 'x', inFlight: 0, maxConcurrent: 8, kvUsedFraction: 0, slot: 910 };
    // slot 910 no longer belongs to w: x is unobserved and scores with the prior (mean of 500, 100 = 300)
    expect(p.pick(req, [reused, other])?.id).toBe('o');
  });
});
