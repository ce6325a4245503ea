// Live-only checks: the smoke scenario CI runs (tiny model, a few users for ~20 s against both the
// mlx-serving cluster and mlx_lm.server). It checks the whole live path, not performance: its only
// target is 100 % success.
import { defineScenario } from '../define.js';
import { DIRECT, GATEWAY_ONE_WORKER, QWEN3_MOE_ON_M3_ULTRA } from './common.js';

export const liveSmoke = defineScenario({
  name: 'live-smoke',
  title: 'Live smoke — the whole live path on the tiny model',
  description: '4 users in a closed loop, short prompts with 30 % exact repeats and 2-turn sessions, against mlx_lm.server and the gateway with one worker node.',
  seed: 77,
  workload: {
    type: 'closed', model: 'qwen3-30b-a3b', users: 4, thinkTime: { type: 'exponential', meanMs: 200 }, rampUpMs: 500, durationMs: 20_000,
    promptTokens: { type: 'lognormal', meanTokens: 60, cv: 0.5, minTokens: 8, maxTokens: 256 },
    outputTokens: { type: 'lognormal', meanTokens: 24, cv: 0.5, minTokens: 4, maxTokens: 64 },
    turnsPerSession: { type: 'uniform', minTokens: 1, maxTokens: 2 }, userTokens: { type: 'fixed', tokens: 16 },
    duplicates: { ratio: 0.3, hotSetSize: 8, zipfExponent: 1.1 }, temperature: 0.7,
  },
  cluster: { ...QWEN3_MOE_ON_M3_ULTRA, maxSequences: 8 },
  baseline: DIRECT,
  candidate: GATEWAY_ONE_WORKER,
  targets: [{ metric: 'successRate', kind: 'min', value: 100 }],
  live: { model: 'tiny', durationMs: 20_000 },
  inDefaultSuite: false,
});
