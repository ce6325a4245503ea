// Chunked prefill (mlx-lm BatchGenerator._next): one chunk of ≤ prefillStepTokens per prefilling
// sequence per step, interleaved with the decode steps of the running batch.
import { describe, expect, it } from 'vitest';
import { CapacityAdmission } from './memory.js';
import { SimWorker } from './worker.js';
import { latency, req, run } from './worker-harness.js';

describe('chunked prefill', () => {
  it('spreads a long prompt over ceil(tokens / 512) steps, then joins the decode batch', () => {
    const prompt = 5000; // the last token goes through the decode pass: ceil(4999 / 512) = ceil(5000 / 512) = 10
    const r = run({}, [{ atMs: 0, input: req('long', prompt, 2) }]);
    const chunkSteps = r.steps.filter((s) => s.prefillTokens > 0);
    expect(chunkSteps.length).toBe(Math.ceil(prompt / 512));
    expect(chunkSteps.map((s) => s.prefillTokens)).toEqual([...Array<number>(9).fill(512), prompt - 1 - 9 * 512]);
    expect(r.steps.length).toBe(chunkSteps.length + 2); // + the join (first token) + one decode step
    expect(r.steps[chunkSteps.length]!.batch).toBe(1);
    const t1 = latency.requestOverheadMs + latency.prefillMs(prompt, 0) + latency.decodeStepMs(1, prompt);
    expect(r.first.get('long')!.firstTokenMs).toBeCloseTo(t1, 9);
  });

  it('conserves the latency model\'s prefill cost, with and without a prefix-cache hit', () => {
    // A cold worker: all three wait for the model load, then prefill together and join in one step.
    const r = run({ startWarm: false }, [0, 1, 2].map((i) => ({ atMs: 0, input: req(`p${i}`, 2000, 1) })));
    const expected = 3 * (latency.requestOverheadMs + latency.prefillMs(2000, 0)) + latency.decodeStepMs(3, 6000);
    expect(r.worker.stats.busyMs).toBeCloseTo(expected, 9);
    for (const s of r.first.values()) expect(s.prefillComputeMs).toBeCloseTo(latency.requestOverheadMs + latency.prefillMs(2000, 0), 9);
    const blocks = Array.from({ length: 40 }, (_, i) => i);
    const turn1 = req('t1', 2560, 64, { sessionId: 's', prefixBlocks: blocks.slice(0, 40) });
    const turn2 = req('t2', 2560 + 64 + 1500, 4, { sessionId: 's', prefixBlocks: Array.from({ length: 64 }, (_, i) => i) });
    const c = run({}, [{ atMs: 0, input: turn1 }, { atMs: 60_000, input: turn2 }]);
    const s2 = c.first.get('t2')!;
    expect(s2.cachedTokens).toBe(2560 + 64);
    expect(s2.prefillComputeMs).toBeCloseTo(latency.requestOverheadMs + latency.prefillMs(turn2.promptTokens, s2.cachedTokens), 9);
    expect(c.steps.filter((s) => s.startMs >= 60_000 && s.prefillTokens > 0).length).toBe(Math.ceil((1500 - 1) / 512));
  });

  it('running sequences keep decoding between chunks: ITL gaps are bounded by one chunk, not the prompt', () => {
    const prompt = 8000;
    const r = run({}, [{ atMs: 0, input: req('a', 100, 400) }, { atMs: 200, input: req('b', prompt, 4) }]);
    const aTimes = r.tokenTimesMs.get('a')!;
    const bFirst = r.first.get('b')!.firstTokenMs;
    const during = aTimes.filter((t) => t > 200 && t <= bFirst);
    expect(during.length).toBeGreaterThanOrEqual(Math.ceil((prompt - 1) / 512));
    let maxGapMs = 0;
    for (let i = 1; i < aTimes.length; i++) maxGapMs = Math.max(maxGapMs, aTimes[i]! - aTimes[i - 1]!);
    const lastChunkMs = latency.prefillMs(prompt, 0) - latency.prefillMs(prompt - 512, 0);
    const boundMs = latency.requestOverheadMs + lastChunkMs + 2 * latency.decodeStepMs(2, prompt + 500);
    expect(maxGapMs).toBeLessThanOrEqual(boundMs);
    expect(maxGapMs).toBeLessThan(latency.prefillMs(prompt, 0) / 5);
  });

  it('respects prefillBatchSize and the maxPrefillTokensPerStep cap', () => {
    const r = run({ prefillBatchSize: 2, startWarm: false }, [0, 1, 2, 3, 4].map((i) => ({ atMs: 0, input: req(`r${i}`, 3000, 2) })));
    expect(Math.max(...r.steps.map((s) => s.prefillTokens))).toBe(2 * 512);
    const order = [...r.first.values()].sort((x, y) => x.firstTokenMs - y.firstTokenMs);
    expect(order.map((s) => s.requestId)).toEqual(['r0', 'r1', 'r2', 'r3', 'r4']);
    expect(order[0]!.firstTokenMs).toBe(order[1]!.firstTokenMs);
    expect(order[2]!.admitMs).toBeGreaterThanOrEqual(order[1]!.firstTokenMs);
    const capped = run({ maxPrefillTokensPerStep: 300, prefillStepTokens: 256, startWarm: false }, [0, 1].map((i) => ({ atMs: 0, input: req(`c${i}`, 1000, 1) })));
    expect(capped.steps.map((s) => s.prefillTokens).filter((t) => t > 0)).toEqual([300, 300, 300, 300, 256, 256, 256, 30]); // c0: 256 × 3 + 231; c1: the rest of each budget
  });

  it('partially prefilled sequences hold their KV reservation; cancelling one releases it', () => {
    const kv = (4000 + 10) * latency.kvBytesPerToken;
    const r = run({ memory: new CapacityAdmission(kv * 1.5) }, [{ atMs: 0, input: req('a', 4000, 10) }, { atMs: 0, input: req('b', 4000, 10) }]);
    expect(r.first.get('b')!.admitMs).toBeGreaterThanOrEqual(r.tokenTimesMs.get('a')!.at(-1)!);
    const c = run({}, [{ atMs: 0, input: req('x', 8000, 10) }], [{ atMs: 100, id: 'x' }]);
    expect(c.first.has('x')).toBe(false);
    expect(c.worker.view().kvUsedBytes).toBe(0);
    expect(c.worker.runningCount).toBe(0);
  });

  it('validates the prefill fields, naming them', () => {
    const base = { id: 'v', index: 0, latency, maxSequences: 4, maxQueuedSequences: 4 };
    expect(() => new SimWorker({ ...base, prefillStepTokens: 0 })).toThrow(/prefillStepTokens/);
    expect(() => new SimWorker({ ...base, prefillBatchSize: 1.5 })).toThrow(/prefillBatchSize/);
    expect(() => new SimWorker({ ...base, maxPrefillTokensPerStep: -1 })).toThrow(/maxPrefillTokensPerStep/);
  });
});
