// decodeLayout padded (sim-vs-live): a decode step costs what mlx-lm's BatchKVCache reads, every
// sequence padded to the longest of its batch, and each context bucket is a batch of its own.
import { describe, expect, it } from 'vitest';
import { latency, req, run } from './worker-harness.js';

const pair = [{ atMs: 0, input: req('short', 100, 50) }, { atMs: 0, input: req('long', 4000, 50) }];
const bothDecoding = (r: ReturnType<typeof run>) => r.steps.filter((s) => s.prefillTokens === 0 && s.continuing === 2);

describe('simulated worker: padded decode', () => {
  it('one batch pads the short sequence to the long one; buckets decode them apart; packed charges the real context', () => {
    const check = (config: Parameters<typeof run>[0], cost: (short: number, long: number) => number): void => {
      const r = run(config, pair);
      const steps = bothDecoding(r);
      expect(steps.length).toBeGreaterThan(10);
      for (const s of steps.slice(0, 20)) {
        // each one's context at the step's start, as the worker counts it: its prompt + the tokens it has
        // so far, less the first (computed by the prompt's own pass)
        const ctx = (id: string, prompt: number) => prompt + r.tokenTimesMs.get(id)!.filter((t) => t <= s.startMs).length - 1;
        expect(s.durationMs).toBeCloseTo(cost(ctx('short', 100), ctx('long', 4000)), 9);
      }
    };
    check({}, (a, b) => latency.decodeStepMs(2, a + b));
    check({ decodeLayout: { type: 'padded' } }, (_a, b) => latency.decodeStepMs(2, 2 * b));
    check({ decodeLayout: { type: 'padded', contextBuckets: [1024] } }, (a, b) => latency.decodeStepMs(1, a) + latency.decodeStepMs(1, b));
    expect(latency.decodeStepMs(2, 2 * 4000)).toBeGreaterThan(latency.decodeStepMs(2, 4100));
  });

  it('refuses buckets that are not increasing positive integers', () => {
    expect(() => run({ decodeLayout: { type: 'padded', contextBuckets: [2048, 1024] } }, pair)).toThrow(/increasing positive integers/);
  });
});
