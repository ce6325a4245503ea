// Scale-out live: one gateway in front of 1 worker node versus 4, each node with its own python
// runtime and, on a host with several GPUs (`--live-gpus 4`), its own GPU (issue 20). Siblings of
// `cluster-scale-out` (whose baseline is the direct engine and whose sim figures the gate keeps):
// here both sides are mlx-serving with the default policy set (session affinity, least-loaded
// fallback), so the ratio is the cluster's scaling alone. The `-kill` variant SIGKILLs one of the
// four worker nodes (and its runtime) mid-run: the gateway's breaker and retries must lose no request
// that had not yet sent a token.
import { defineScenario, type ScenarioDef } from '../define.js';
import { QWEN3_MOE_ON_M3_ULTRA } from './common.js';

const ONE = { name: 'mlx-serving (1 worker)', kind: 'gateway', workers: 1, gateway: {} } as const;
const FOUR = { name: 'mlx-serving (4 workers)', kind: 'gateway', workers: 4, gateway: {} } as const;

/** Phase 3's chat shape (multi-turn, think 2 s), answers capped at 512 tokens so a side drains in well under a minute. */
const WORKLOAD = {
  type: 'closed', model: 'qwen3-30b-a3b', users: 256, thinkTime: { type: 'exponential', meanMs: 2000 }, rampUpMs: 5000, durationMs: 120_000,
  promptTokens: { type: 'lognormal', meanTokens: 500, cv: 0.7, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.7, minTokens: 8, maxTokens: 512 },
  turnsPerSession: { type: 'uniform', minTokens: 1, maxTokens: 6 }, userTokens: { type: 'lognormal', meanTokens: 80, cv: 0.5, minTokens: 8, maxTokens: 512 },
  temperature: 0.7,
} as const;

const LOAD_NOTES = [
  'Load: 256 users in a closed loop (phase 3\'s chat shape, think 2 s, answers ≤ 512 tokens). The gateway sends each worker node at most 64 requests at once (core defaults: maxConcurrentPerWorker 64), so 256 users are 4× what one node serves at a time: the 1-node side is saturated (its other 192 users wait in the gateway\'s queue) while each of the 4 nodes gets its 64 — the point at which one node on an H200 gave 700–900 output tok/s in the phase-3 runs (reports/reference/gpu/README.md, 128 users there, 64 of them in flight). A closed loop rather than an open-loop rate: it saturates one node without an unbounded queue and needs no guess of four nodes\' capacity (an open-loop rate above it would fail the 4-node side\'s 100 % success, one below it would cap the ratio).',
  'Throughput target on the steady state (extra.steadyOutputTokPerS: output tok/s from the end of the ramp-up to the end of the duration, from the timeline): after the duration the saturated 1-node side keeps its full batch through the drain while the 4-node side finishes its last answers, so the overall output tok/s ratio (shown too) understates the scale-out.',
  'GPU: 30 s per side, drain ≤ 45 s, so that 3 repetitions of both sides fit one 10-minute device call (scripts/gpu/run-phases.sh scaleout). CPU (this 2-core machine): the tiny model, 1 versus 2 worker nodes, 8 users, lengths × 0.05, 20 s — it checks the path, not the scaling (both sides share two cores).',
];

function scaleOut(kill: boolean): ScenarioDef {
  const name = kill ? 'cluster-scale-out-gpu-kill' : 'cluster-scale-out-gpu';
  return defineScenario({
    name,
    title: kill ? 'Scale-out live — 4 worker nodes versus 1, one node killed mid-run' : 'Scale-out live — 4 worker nodes versus 1, one GPU each',
    description: kill
      ? 'As cluster-scale-out-gpu, with worker node w1 (and its python runtime) SIGKILLed mid-run and not restarted. Requests that had sent no token are retried on the other nodes; the breaker stops routing to w1. Target: 0 lost retryable requests (every request that failed did so after its first token).'
      : 'One gateway (default policies: session affinity, least-loaded fallback) in front of 1 worker node, then of 4 — on a multi-GPU host each node pinned to its own GPU (--live-gpus 4) — under a closed-loop chat load that saturates one node. Target: ≥ 3.5× the steady-state output tok/s with 4 nodes, 100 % success.',
    seed: kill ? 421 : 420,
    workload: WORKLOAD,
    cluster: QWEN3_MOE_ON_M3_ULTRA,
    baseline: ONE,
    candidate: FOUR,
    ...(kill && { faults: { crashes: [{ workerIndex: 1, atMs: 60_000, restartAfterMs: 60_000 }] } }),
    targets: kill
      ? [{ metric: 'extra.lostRetryable', kind: 'max', value: 0 }, { metric: 'extra.retryableSuccessRate', kind: 'min', value: 1 }]
      : [{ metric: `extra.steadyOutputTokPerS`, kind: 'ratio-min', value: 3.5 }, { metric: 'successRate', kind: 'min', value: 100 }],
    report: kill ? ['extra.steadyOutputTokPerS', 'extra.failedAfterTokens', 'extra.tokenShareMax', 'extra.tokenShareMin'] : ['extra.tokenShareMax', 'extra.tokenShareMin'],
    notes: [
      ...LOAD_NOTES,
      ...(kill ? ['Kill: w1 at 15 s of the 30 s GPU run (10 s of 20 on the CPU), both the node process and its runtime (SIGKILL to each process of its tree); the sim side crashes w1 at 60 s of 120 without a restart. The 1-node side has no w1: it runs unharmed, for the throughput beside it.', 'In sim (seed 421) the kill loses 4 requests before their first token (the gateway\'s retry budget refuses them a retry, as in runtime-crash) and 36 after it: the live target of 0 lost is the issue\'s, not the sim\'s prediction.'] : []),
    ],
    live: {
      model: 'tiny', users: 8, durationMs: 20_000, rampUpMs: 2000, tokenScale: 0.05, maxSequences: 8, drainMs: 30_000, candidateWorkers: 2,
      ...(kill && { killWorker: { workerIndex: 1, atMs: 10_000 } }),
      gpu: { model: 'gpu-1b', users: 256, durationMs: 30_000, rampUpMs: 5000, tokenScale: 1, drainMs: 45_000, ...(kill && { killWorker: { workerIndex: 1, atMs: 15_000 } }) },
    },
    inDefaultSuite: false,
  });
}

export const clusterScaleOutGpu = scaleOut(false);
export const clusterScaleOutGpuKill = scaleOut(true);
