// The worker loops a sim run models: the scenario's defaults (mlx_lm.server's defaults for the
// baseline, the step planner for mlx-serving), or — for sim-vs-live — the loops the live run uses.
import { describe, expect, it } from 'vitest';
import { phase2Mixed } from './catalog/phases.js';
import { runPolicySet } from './sim-run.js';

const short = { ...phase2Mixed.workload, durationMs: 60_000 };

describe('sim-run worker loops', () => {
  it('models the runtime\'s BatchGenerator loop when asked; the baseline is mlx_lm.server with its defaults either way', () => {
    const base = runPolicySet(phase2Mixed, phase2Mixed.baseline, 7, { workload: short }).summary;
    const baseLive = runPolicySet(phase2Mixed, phase2Mixed.baseline, 7, { workload: short, liveLoops: { candidateScheduler: 'planner' } }).summary;
    expect(baseLive).toEqual(base);
    const planned = runPolicySet(phase2Mixed, phase2Mixed.candidate, 7, { workload: short }).summary;
    const batchGen = runPolicySet(phase2Mixed, phase2Mixed.candidate, 7, { workload: short, liveLoops: { candidateScheduler: 'batch-generator' } }).summary;
    expect(planned.itlMs.p95).toBeLessThan(120);
    expect(batchGen.itlMs.p95).toBeGreaterThan(planned.itlMs.p95 * 1.5); // 512-token chunks for up to 8 prompts per step
  });
});
