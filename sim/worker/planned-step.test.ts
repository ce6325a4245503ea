// The mlx-serving runtime's loop in the simulator: every step planned by core's step planner.
import { describe, expect, it } from 'vitest';
import { DEFAULT_STEP_PLANNER } from '../../core/scheduling/defaults.js';
import { plannerPriorFrom } from './planner-prior.js';
import { latency, req, run } from './worker-harness.js';
import type { WorkerConfig } from './worker.js';

const planned = (over: Partial<typeof DEFAULT_STEP_PLANNER> = {}): Partial<WorkerConfig> => ({
  maxSequences: 64,
  planner: { config: { ...DEFAULT_STEP_PLANNER, maxSequences: 64, ...over }, prior: plannerPriorFrom(latency) },
});

describe('planned steps (core/scheduling/step-planner.ts)', () => {
  it('keeps every step within the ITL target while a long prompt arrives on a running batch', () => {
    const decoders = Array.from({ length: 16 }, (_, i) => ({ atMs: 0, input: req(`d${i}`, 200, 400) }));
    const r = run(planned(), [...decoders, { atMs: 3000, input: req('long', 8000, 4) }]);
    const busy = r.steps.filter((s) => s.startMs > 3000 && s.continuing >= 16);
    expect(busy.some((s) => s.prefillTokens > 0)).toBe(true);
    for (const s of busy) expect(s.durationMs).toBeLessThanOrEqual(DEFAULT_STEP_PLANNER.itlTargetMs * 1.02);
    expect(r.first.has('long')).toBe(true);
  });

  it('has the last chunk yield the first token: no extra forward pass to join', () => {
    const r = run(planned(), [{ atMs: 0, input: req('a', 100, 2) }]);
    expect(r.steps[0]!.prefillTokens).toBe(100); // every prompt token, the last one included
    const t1 = latency.requestOverheadMs + latency.prefillMs(100, 0);
    expect(r.first.get('a')!.firstTokenMs).toBeCloseTo(t1, 9);
  });

  it('serves a long prompt that arrived first before short ones that came after it (FCFS: no starvation)', () => {
    const decoders = Array.from({ length: 8 }, (_, i) => ({ atMs: 0, input: req(`d${i}`, 200, 2000) }));
    const shorts = Array.from({ length: 30 }, (_, i) => ({ atMs: 2100 + i * 50, input: req(`s${i}`, 64, 8) }));
    const r = run(planned(), [...decoders, { atMs: 2000, input: req('long', 6000, 4) }, ...shorts]);
    const longFirst = r.first.get('long')!.firstTokenMs;
    for (let i = 0; i < 30; i++) expect(r.first.get(`s${i}`)!.firstTokenMs).toBeGreaterThanOrEqual(longFirst);
  });

  it('grows the decode batch only as far as the latency target allows', () => {
    const many = Array.from({ length: 120 }, (_, i) => ({ atMs: 0, input: req(`m${i}`, 300, 200) }));
    const tight = run(planned({ itlTargetMs: 30, maxSequences: 120 }), many);
    const loose = run(planned({ itlTargetMs: 200, maxSequences: 120 }), many);
    const peak = (x: typeof tight) => Math.max(...x.steps.map((s) => s.batch));
    expect(peak(tight)).toBeLessThan(peak(loose));
    expect(latency.decodeStepMs(peak(tight) - 1, 0)).toBeLessThanOrEqual(30);
  });
});
