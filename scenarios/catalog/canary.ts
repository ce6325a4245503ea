// Versions and canaries (issue 19): a model served in three versions, one stable and two canaries —
// a bad one (its Mac 3× slower: a regression in the new weights' speed) and a good one — behind one
// gateway that routes by weight. With the margins on, the core rolls the bad canary back on its TTFT
// p95; the good one is kept and an admin call promotes it. Not in the default suite (run it by name).
import { defineScenario } from '../define.js';
import { LLAMA8B_ON_M3_ULTRA } from './common.js';

const MODEL = 'llama-3.1-8b';
const VERSIONS = [{ version: 'v1', weight: 60 }, { version: 'v2', weight: 10 }, { version: 'v3', weight: 30 }];
const PROMOTE_AT_MS = 150_000;
// Baseline: the same split with margins that never trigger (no automatic rollback), and no promotion.
const NO_ROLLBACK = { maxErrorRateDelta: 1, maxLatencyRatio: 1000, models: { [MODEL]: { stable: 'v1', versions: VERSIONS } } };
const ROLLBACK = { models: { [MODEL]: { stable: 'v1', versions: VERSIONS } } };

export const canaryRollout = defineScenario({
  name: 'canary-rollout',
  title: 'Canary versions — a bad canary rolled back, a good one promoted',
  description: `Ten M3 Ultras serve ${MODEL} in three versions (Poisson, 6 req/s): v1, the stable version, on 4 workers (weight 60), canary v2 on 1 worker that runs 3× slower (weight 10), canary v3 on 5 workers as fast as v1 (weight 30; the fleet it will need once promoted). The gateway picks each request's version by weight, sticky per session. Baseline: the split alone, nothing rolled back, no promotion. Candidate: the default margins (TTFT p95 at most 1.5× the stable one's, error rate at most 5 points above it, over 60 s, 20 samples each side at least): v2 is rolled back once 20 of its first tokens are in, v3 is kept, and an admin call promotes v3 at 150 s (all traffic to it). Targets: v2 rolled back within 60 s, v3 never, every request dispatched after the promotion on v3, TTFT p95 at most 0.1× the baseline's, everyone served.`,
  seed: 1919,
  workload: {
    type: 'open', model: MODEL, rate: { type: 'constant', rps: 6 }, arrival: { type: 'poisson' }, durationMs: 300_000, temperature: 0.7,
    promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.6, minTokens: 16, maxTokens: 4096 },
    outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.6, minTokens: 8, maxTokens: 1024 },
  },
  cluster: LLAMA8B_ON_M3_ULTRA,
  faults: { slowdowns: [{ workerIndex: 4, startMs: 0, endMs: 1_000_000, factor: 3 }] },
  canary: { workerVersions: ['v1', 'v1', 'v1', 'v1', 'v2', 'v3', 'v3', 'v3', 'v3', 'v3'], promotions: [{ atMs: PROMOTE_AT_MS, version: 'v3' }] },
  baseline: { name: 'split by weight, no rollback (10 workers)', kind: 'gateway', workers: 10, gateway: { canary: NO_ROLLBACK } },
  candidate: { name: 'canary margins + promotion (10 workers)', kind: 'gateway', workers: 10, gateway: { canary: ROLLBACK } },
  targets: [
    { metric: 'extra.canaryRollbacks.v2', kind: 'min', value: 1 },
    { metric: 'extra.canaryRollbackAtS.v2', kind: 'max', value: 60 },
    { metric: 'extra.canaryRollbacks.v3', kind: 'max', value: 0 },
    { metric: 'extra.dispatchShareAfterPromotion.v3', kind: 'min', value: 0.99 },
    { metric: 'ttftP95', kind: 'ratio-max', value: 0.1 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  report: ['extra.dispatchShare.v1', 'extra.dispatchShare.v2', 'extra.dispatchShare.v3'],
  notes: [
    'The version is chosen from a hash of the session id (or, without one, the request id), not from the run\'s random stream: the other scenarios\' results are unchanged, and one session keeps its version while the weights stay.',
    'The slowed worker is the `slow-worker` fault over the whole run (sim/worker/faults.ts); the verdict compares the versions\' TTFT p95 measured at the gateway from dispatch to first token, the figure the live gateway uses.',
  ],
  inDefaultSuite: false,
});
