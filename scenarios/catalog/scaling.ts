// The scaling signal (issue 19): the gateway core's desired workers per model (core/scaling/) while
// the offered rate steps up and back down; how long the signal takes to reach the count that matches
// each new rate (its lead time for an autoscaler). Not in the default suite.
import { defineScenario } from '../define.js';
import { LLAMA8B_ON_M3_ULTRA } from './common.js';

/** The signal's settings in this scenario: a 20 s observation window, ρ 0.7, 60 s scale-down stabilisation. */
const SCALING = { enabled: true, windowMs: 20_000, targetUtilisation: 0.7, backlogDrainMs: 30_000, scaleDownStabilisationMs: 60_000, minWorkers: 1, maxWorkers: 64 } as const;

export const scalingSignal = defineScenario({
  name: 'scaling-signal',
  title: 'Scaling signal — desired workers track a stepped load',
  description: 'Open-loop chat load on Llama-3.1-8B (M3 Ultra, 16 sequences per worker) whose rate steps 1 → 3 → 6 → 10 req/s every 2 minutes, then drops to 3. Ten workers serve it throughout (the simulator does not add machines); the gateway core computes how many the load needs (Little\'s law: rate × service time over 16 slots × 0.7 per worker, plus the backlog drained within 30 s), sampled every 5 s as a Prometheus scrape would. Target: after each step up, the signal reaches the count matching the new rate within 60 s: the 20 s arrival window, then the service time, measured on completions, reflects the new load once the requests started under it have filled its 20 s window (+ their E2E p95, ~10 s), plus one 5 s sample. The signal is observation only: serving is the same with it off.',
  seed: 1919,
  workload: {
    type: 'open', model: 'llama-3.1-8b', arrival: { type: 'poisson' }, durationMs: 600_000, temperature: 0.7,
    rate: { type: 'step', steps: [{ atMs: 0, rps: 1 }, { atMs: 120_000, rps: 3 }, { atMs: 240_000, rps: 6 }, { atMs: 360_000, rps: 10 }, { atMs: 480_000, rps: 3 }] },
    promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.6, minTokens: 16, maxTokens: 4096 },
    outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.6, minTokens: 8, maxTokens: 1024 },
  },
  cluster: LLAMA8B_ON_M3_ULTRA,
  baseline: { name: 'signal off (10 workers)', kind: 'gateway', workers: 10, gateway: {} },
  candidate: { name: 'signal on (10 workers)', kind: 'gateway', workers: 10, gateway: { scaling: SCALING } },
  targets: [
    { metric: 'extra.scalingLeadTimeMsMax', kind: 'max', value: 60_000 },
    { metric: 'extra.scalingLeadTimeMsMax', kind: 'min', value: 0 },
    // observation only: the same requests served the same way
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 1 },
    { metric: 'outputTokPerS', kind: 'ratio-max', value: 1 },
  ],
  report: ['extra.scalingDesiredMax', 'extra.scalingStep1LeadTimeMs', 'extra.scalingStep2LeadTimeMs', 'extra.scalingStep3LeadTimeMs', 'extra.scalingStep4ScaleDownMs'],
  notes: [
    'Lead time: from a step of the offered rate to the first 5 s sample where the signal reaches the matching count N = ceil(rate × W / (16 × 0.7)), W the service time measured on the plateau (scenarios/scaling-figures.ts).',
    'Scaling down waits for the 60 s stabilisation window on top of the 20 s observation window, by design (no flapping).',
  ],
  inDefaultSuite: false,
});
