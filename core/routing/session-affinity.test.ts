// Session affinity: a session sticks to its hashed worker; load-aware fallback when that worker is
// overloaded or not a candidate; the affinity comes back unchanged when the worker is healthy again.
import { describe, expect, it } from 'vitest';
import type { InferenceRequest } from '../types.js';
import { fnv1a32 } from '../util/hash.js';
import { jumpHash } from './jump-hash.js';
import type { RoutingContext, WorkerView } from './policy.js';
import { SessionAffinityPolicy } from './session-affinity.js';
import { testView } from './test-views.js';

function req(over: Partial<InferenceRequest> = {}): InferenceRequest {
  return {
    id: 'r',
    model: 'm',
    prompt: { kind: 'text', text: 'hi' },
    promptTokens: 4,
    prefixBlocks: [],
    sampling: { temperature: 0, topP: 1, maxTokens: 8 },
    stream: false,
    ...over,
  };
}

const ids = ['w0', 'w1', 'w2', 'w3', 'w4'];
const view = (id: string, inFlight = 0, maxConcurrent = 4): WorkerView => testView(id, inFlight, maxConcurrent);
const ctx = (allWorkerIds = ids): RoutingContext => ({ nowMs: 0, rng: () => 0.5, allWorkerIds });
const hashed = (sessionId: string): string => ids[jumpHash(fnv1a32(sessionId), ids.length)]!;

describe('SessionAffinityPolicy', () => {
  const policy = new SessionAffinityPolicy(0.9);
  const all = ids.map((id) => view(id));

  it('sends a session to its jump-hashed worker, every time', () => {
    for (let s = 0; s < 50; s++) {
      const sessionId = `session-${s}`;
      const first = policy.pick(req({ sessionId }), all, ctx());
      expect(first?.id).toBe(hashed(sessionId));
      expect(policy.pick(req({ sessionId, id: 'other' }), all, ctx())?.id).toBe(first?.id);
    }
  });

  it('uses different workers for different sessions', () => {
    const chosen = new Set<string>();
    for (let s = 0; s < 100; s++) chosen.add(policy.pick(req({ sessionId: `s${s}` }), all, ctx())!.id);
    expect(chosen.size).toBe(ids.length);
  });

  it('falls back to the least-loaded candidate when the hashed worker is at or above overloadFraction', () => {
    const sessionId = 'sticky';
    const target = hashed(sessionId);
    // target at 4/4 (load 1 ≥ 0.9); others at 2/4, except one at 1/4.
    const lightest = ids.find((id) => id !== target)!;
    const cands = ids.map((id) => view(id, id === target ? 4 : id === lightest ? 1 : 2));
    expect(policy.pick(req({ sessionId }), cands, ctx())?.id).toBe(lightest);
    // Just below the threshold it stays: 3/4 = 0.75 < 0.9.
    const cands2 = ids.map((id) => view(id, id === target ? 3 : 0));
    expect(policy.pick(req({ sessionId }), cands2, ctx())?.id).toBe(target);
  });

  it('falls back when the hashed worker is not a candidate, and returns to it unchanged once it is back', () => {
    const sessionId = 'user-42';
    const target = hashed(sessionId);
    expect(policy.pick(req({ sessionId }), all, ctx())?.id).toBe(target);
    // Unhealthy: filtered out of the candidates, but still in allWorkerIds (hashing is over all workers).
    const without = all.filter((w) => w.id !== target);
    const during = policy.pick(req({ sessionId }), without, ctx());
    expect(during).toBeDefined();
    expect(during!.id).not.toBe(target);
    // Other sessions are not disturbed while it is away.
    for (let s = 0; s < 40; s++) {
      const other = `other-${s}`;
      if (hashed(other) === target) continue;
      expect(policy.pick(req({ sessionId: other }), without, ctx())?.id).toBe(hashed(other));
    }
    // Back: the same worker again.
    expect(policy.pick(req({ sessionId }), all, ctx())?.id).toBe(target);
  });

  it('hashes the first prefix block when there is no session', () => {
    const r = req({ prefixBlocks: [987654321, 5] });
    const expected = ids[jumpHash(987654321, ids.length)];
    expect(policy.pick(r, all, ctx())?.id).toBe(expected);
  });

  it('without a session or prefix picks the least-loaded candidate (first on ties)', () => {
    const cands = [view('w0', 3), view('w1', 1), view('w2', 1)];
    expect(policy.pick(req(), cands, ctx())?.id).toBe('w1');
  });

  it('returns undefined when there is no candidate', () => {
    expect(policy.pick(req({ sessionId: 's' }), [], ctx())).toBeUndefined();
  });

  it('falls back to least-loaded when allWorkerIds is empty', () => {
    const cands = [view('w0', 2), view('w1', 0)];
    expect(policy.pick(req({ sessionId: 's' }), cands, ctx([]))?.id).toBe('w1');
  });
});
