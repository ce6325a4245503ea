// A calibrated profile's sampledRowMs: mlx-lm's GenerationBatch samples the whole batch in one call only
// when every row shares a sampler (all greedy); a batch holding a request sampled at temperature > 0
// (a sampler of its own, in the runtime and in mlx_lm.server) samples row by row, each row paying more.
import { describe, expect, it } from 'vitest';
import { latency, req, run } from './worker-harness.js';

const withRow = (rowMs: number) => Object.create(latency, { sampledRowMs: { value: rowMs } }) as typeof latency;
const decodeSteps = (r: ReturnType<typeof run>, n: number) => r.steps.filter((s) => s.prefillTokens === 0 && s.continuing === n).map((s) => s.durationMs);

describe('simulated worker: sampled rows', () => {
  it('charges every row of a batch that holds a sampled request, and nothing for an all-greedy batch', () => {
    const subs = (sampled: boolean) => [{ atMs: 0, input: req('a', 100, 40) }, { atMs: 0, input: req('b', 100, 40, sampled ? { sampled: true } : {}) }];
    const greedy = decodeSteps(run({}, subs(false)), 2);
    expect(greedy.length).toBeGreaterThan(10);
    expect(decodeSteps(run({ latency: withRow(0.5) }, subs(false)), 2)).toEqual(greedy);
    const mixed = decodeSteps(run({ latency: withRow(0.5) }, subs(true)), 2);
    for (let i = 0; i < 10; i++) expect(mixed[i]! - greedy[i]!).toBeCloseTo(2 * 0.5, 9); // both rows pay
    // a profile without the figure charges nothing
    expect(decodeSteps(run({}, subs(true)), 2)).toEqual(greedy);
  });

  it('with context buckets, only the buckets holding a sampled request sample row by row', () => {
    const subs = [{ atMs: 0, input: req('short', 100, 40) }, { atMs: 0, input: req('short2', 120, 40) }, { atMs: 0, input: req('long', 2000, 40, { sampled: true }) }];
    const config = { decodeLayout: { type: 'padded' as const, contextBuckets: [1024] } };
    const base = decodeSteps(run(config, subs), 3);
    const sampled = decodeSteps(run({ ...config, latency: withRow(0.5) }, subs), 3);
    expect(base.length).toBeGreaterThan(10);
    for (let i = 0; i < 10; i++) expect(sampled[i]! - base[i]!).toBeCloseTo(0.5, 9); // the long bucket's one row
  });
});
