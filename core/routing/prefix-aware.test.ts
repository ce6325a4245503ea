// Prefix-aware routing: longest shared prefix wins while the cluster is balanced; the balance
// thresholds stop one hot prefix from pinning all traffic to one worker.
import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../types.js';
import type { WorkerView } from './policy.js';
import { PrefixAwarePolicy, type PrefixAwareParams } from './prefix-aware.js';
import { testView } from './test-views.js';

const params: PrefixAwareParams = { blocksMax: 1000, minMatchBlocks: 1, balanceAbsThreshold: 4, balanceRelThreshold: 1.5 };
const req = (prefixBlocks: number[], id = 'r'): InferenceRequest => ({
  id, model: 'm', prompt: { kind: 'text', text: '' }, promptTokens: prefixBlocks.length * 16, prefixBlocks,
  sampling: { temperature: 0, topP: 1, maxTokens: 1 }, stream: false,
});
const view = (id: string, inFlight = 0): WorkerView => testView(id, inFlight, 64);

describe('PrefixAwarePolicy', () => {
  it('counts the leading blocks a worker holds', () => {
    const p = new PrefixAwarePolicy(params);
    p.onDispatch('a', req([1, 2, 3]));
    expect(p.matchedBlocks('a', [1, 2, 3, 4])).toBe(3);
    expect(p.matchedBlocks('a', [1, 2])).toBe(2);
    expect(p.matchedBlocks('a', [9, 10])).toBe(0);
    expect(p.matchedBlocks('unknown', [1])).toBe(0);
  });

  it('routes to the candidate with the longest shared prefix', () => {
    const p = new PrefixAwarePolicy(params);
    p.onDispatch('a', req([1, 2, 3]));
    p.onDispatch('b', req([1, 2, 3, 4, 5]));
    p.onDispatch('c', req([1]));
    const cands = [view('a', 1), view('b', 2), view('c', 0)];
    expect(p.pick(req([1, 2, 3, 4, 5, 6]), cands)?.id).toBe('b');
    expect(p.pick(req([1, 2, 3, 7]), [view('c', 0), view('a', 1)])?.id).toBe('a');
  });

  it('on equal matches takes the one with fewer requests in flight', () => {
    const p = new PrefixAwarePolicy(params);
    p.onDispatch('a', req([1, 2]));
    p.onDispatch('b', req([1, 2]));
    expect(p.pick(req([1, 2]), [view('a', 3), view('b', 1)])?.id).toBe('b');
  });

  it('uses least-loaded when no worker shares minMatchBlocks blocks', () => {
    const p = new PrefixAwarePolicy({ ...params, minMatchBlocks: 2 });
    p.onDispatch('a', req([1]));
    expect(p.pick(req([1, 2]), [view('a', 2), view('b', 1)])?.id).toBe('b');
    p.onDispatch('a', req([1, 2]));
    expect(p.pick(req([1, 2]), [view('a', 2), view('b', 1)])?.id).toBe('a');
    const fresh = new PrefixAwarePolicy(params);
    expect(fresh.pick(req([5]), [view('x', 3), view('y', 0)])?.id).toBe('y');
  });

  it('ignores the prefix when the cluster is imbalanced (both thresholds exceeded)', () => {
    const p = new PrefixAwarePolicy(params);
    p.onDispatch('a', req([1, 2, 3]));
    // a: 10, b: 5 → diff 5 > 4 and 10 > 1.5·5 → imbalanced → least-loaded b.
    expect(p.pick(req([1, 2, 3]), [view('a', 10), view('b', 5)])?.id).toBe('b');
    // diff 4 is not > 4: balanced, prefix wins.
    expect(p.pick(req([1, 2, 3]), [view('a', 9), view('b', 5)])?.id).toBe('a');
    // diff 6 > 4 but 20 ≤ 1.5·14 = 21: balanced (relative threshold), prefix wins.
    expect(p.pick(req([1, 2, 3]), [view('a', 20), view('b', 14)])?.id).toBe('a');
  });

  it('keeps one hot prefix from taking everything: load stays within the absolute threshold', () => {
    const p = new PrefixAwarePolicy(params);
    const inFlight = new Map<string, number>([['a', 0], ['b', 0], ['c', 0], ['d', 0]]);
    const hot = [11, 22, 33, 44];
    for (let k = 0; k < 200; k++) {
      const cands = [...inFlight].map(([id, n]) => view(id, n));
      const w = p.pick(req(hot, `r${k}`), cands)!;
      p.onDispatch(w.id, req(hot));
      inFlight.set(w.id, inFlight.get(w.id)! + 1);
    }
    const loads = [...inFlight.values()];
    expect(Math.min(...loads)).toBeGreaterThan(0);
    expect(Math.max(...loads) - Math.min(...loads)).toBeLessThanOrEqual(params.balanceAbsThreshold + 1);
  });

  it('a single candidate is returned as is; none gives undefined', () => {
    const p = new PrefixAwarePolicy(params);
    expect(p.pick(req([1]), [view('only', 99)])?.id).toBe('only');
    expect(p.pick(req([1]), [])).toBeUndefined();
  });

  it('bounds the blocks remembered (LRU over blocks) and forgets removed workers', () => {
    const p = new PrefixAwarePolicy({ ...params, blocksMax: 3 });
    p.onDispatch('a', req([1, 2, 3]));
    p.onDispatch('b', req([7, 8]));
    // 1 and 2 were evicted; 3, 7, 8 remain.
    expect(p.matchedBlocks('a', [1, 2])).toBe(0);
    expect(p.matchedBlocks('a', [1, 2, 3])).toBe(3);
    expect(p.matchedBlocks('b', [7, 8])).toBe(2);
    p.onWorkerRemoved('b');
    expect(p.matchedBlocks('b', [7, 8])).toBe(0);
    expect(p.matchedBlocks('a', [1, 2, 3])).toBe(3);
  });

  it('remembers several owners per block and routes a shared prefix to the less busy owner', () => {
    const p = new PrefixAwarePolicy(params);
    p.onDispatch('a', req([1, 2]));
    p.onDispatch('b', req([1, 2]));
    p.onDispatch('c', req([9]));
    expect(p.pick(req([1, 2, 3]), [view('a', 2), view('c', 0), view('b', 1)])?.id).toBe('b');
    // An owner that is not a candidate (unhealthy, full) is skipped.
    expect(p.pick(req([1, 2, 3]), [view('c', 0), view('a', 2)])?.id).toBe('a');
  });
});
