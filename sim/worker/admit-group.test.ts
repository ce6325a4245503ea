// The runtime's --admit-group in the simulated worker (core/scheduling/admit-group.ts): while the batch
// decodes, waiting prompts are held until a group gathers or the oldest has waited its maximum.
import { describe, expect, it } from 'vitest';
import { latency, req, run } from './worker-harness.js';

// One long answer keeps the batch busy; then prompts arrive one by one, 30 ms apart.
const subs = [{ atMs: 0, input: req('busy', 200, 400) }, ...[0, 1, 2, 3].map((i) => ({ atMs: 1000 + 30 * i, input: req(`p${i}`, 300, 20) }))];
const admitted = (r: ReturnType<typeof run>) => [0, 1, 2, 3].map((i) => r.first.get(`p${i}`)!.admitMs);

describe('simulated worker: admit groups', () => {
  it('at once (the default) admits the first prompt at the first step after it arrives', () => {
    const r = run({}, subs);
    const at = admitted(r);
    expect(at[0]!).toBeLessThan(1030); // at the first step after it arrived, before the others
    expect(at[3]!).toBeGreaterThan(at[0]!);
  });

  it('a group of 4 joins in one step, when the fourth arrives', () => {
    const r = run({ admitGroup: { minGroup: 4, maxWaitMs: 10_000 } }, subs);
    const at = admitted(r);
    expect(new Set(at).size).toBe(1);
    expect(at[0]!).toBeGreaterThanOrEqual(1090);
    expect(r.first.get('p3')!.endMs).toBeGreaterThan(0);
  });

  it('a short group joins once its oldest has waited the maximum', () => {
    const r = run({ admitGroup: { minGroup: 8, maxWaitMs: 50 } }, subs);
    const at = admitted(r);
    expect(at[0]!).toBeGreaterThanOrEqual(1050);
    expect(at[0]!).toBe(at[1]!); // p1 arrived within the wait: it joins with p0
    expect([...r.first.values()].every((s) => s.endMs > 0)).toBe(true);
  });

  it('an idle worker admits at once, and a bad configuration is refused', () => {
    const r = run({ admitGroup: { minGroup: 4, maxWaitMs: 10_000 } }, [{ atMs: 0, input: req('alone', 100, 5) }]);
    expect(r.first.get('alone')!.admitMs).toBe(0);
    expect(() => run({ admitGroup: { minGroup: 0, maxWaitMs: 1 } }, subs)).toThrow(/admit group size/);
  });
});

describe('simulated worker: a calibrated join cost', () => {
  it('replaces the per-request overhead in the step where prompts join, once per step plus per prompt', () => {
    const withJoin = (perStepMs: number, perPromptMs: number) => Object.create(latency, { joinCost: { value: { perStepMs, perPromptMs } } }) as typeof latency;
    const subs2 = [{ atMs: 0, input: req('a', 300, 5) }, { atMs: 0, input: req('b', 300, 5) }];
    const first = (r: ReturnType<typeof run>) => r.steps[0]!.durationMs;
    const plain = first(run({}, subs2));
    const joined = first(run({ latency: withJoin(50, 7) }, subs2));
    // 'a' arrives at an idle worker and is admitted alone in the first step ('b' waits for the next)
    expect(joined - plain).toBeCloseTo(50 + 7 - latency.requestOverheadMs, 6);
  });

  it('with context buckets, charges the fixed part once per bucket that prompts join (each bucket is its own BatchGenerator)', () => {
    const withJoin = (perStepMs: number, perPromptMs: number) => Object.create(latency, { joinCost: { value: { perStepMs, perPromptMs } } }) as typeof latency;
    // a busy batch; then a short and a long prompt arrive together and join in the next step
    const both = [{ atMs: 0, input: req('busy', 200, 400) }, { atMs: 1000, input: req('short', 300, 5) }, { atMs: 1000, input: req('long', 2000, 5) }];
    const cost = (edges: readonly number[], j: typeof latency) => {
      const r = run({ latency: j, maxSequences: 8, prefillStepTokens: 4096, decodeLayout: { type: 'padded', contextBuckets: edges } }, both);
      const step = r.steps.find((s) => s.startMs >= 1000)!;
      expect(step.prefillTokens).toBe(2298); // both prompts in this step (each keeps its last token for generation)
      return step.durationMs;
    };
    const j = withJoin(50, 7);
    // one batch (no buckets) or both prompts in one bucket: the fixed part once
    expect(cost([], j) - cost([], withJoin(0, 7))).toBeCloseTo(50, 1);
    expect(cost([4096], j) - cost([4096], withJoin(0, 7))).toBeCloseTo(50, 1);
    // edges 1024: the prompts join two buckets, two BatchGenerators' joins
    expect(cost([1024], j) - cost([1024], withJoin(0, 7))).toBeCloseTo(100, 1);
  });
});
