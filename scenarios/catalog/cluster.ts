// Cluster scenarios: scale-out, session affinity, warm pool, idle unload, memory governance, failover.
import { defineScenario } from '../define.js';
import { DIRECT, LLAMA8B_ON_M3_ULTRA, QWEN3_MOE_ON_M3_ULTRA } from './common.js';

const CHAT = {
  promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.6, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.6, minTokens: 8, maxTokens: 1024 },
} as const;

export const clusterScaleOut = defineScenario({
  name: 'cluster-scale-out',
  title: 'Cluster scale-out — 4 Macs versus 1',
  description: 'Open-loop chat load (Poisson, 4 RPS) that saturates one M3 Ultra running Llama-3.1-8B; four identical Macs behind the gateway (session affinity). The architecture document targets +30–70 % cluster throughput in Phase 1 (and more in later phases); the curve shows throughput from 1 to 8 workers at the same offered load.',
  seed: 404,
  workload: { type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 4 }, arrival: { type: 'poisson' }, durationMs: 240_000, ...CHAT, temperature: 0.7 },
  cluster: LLAMA8B_ON_M3_ULTRA,
  baseline: DIRECT,
  candidate: { name: 'mlx-serving (4 workers)', kind: 'gateway', workers: 4, gateway: {} },
  targets: [
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 1.3 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  sweep: { over: 'workers', values: [1, 2, 3, 4, 6, 8] },
  notes: ['Open loop: a saturated single machine serves only what it can; the extra offered load queues. Throughput is tokens delivered within the run.'],
  inDefaultSuite: true,
});

export const sessionAffinity = defineScenario({
  name: 'session-affinity',
  title: 'Session affinity — prompt-cache reuse across turns',
  description: 'Multi-turn conversations (4–10 turns) over 4 workers. Jump-hash session affinity keeps a conversation on the worker holding its KV prefix; round-robin scatters it. Target: > 85 % of follow-up turns find their conversation’s prefix in their worker’s prompt cache.',
  seed: 505,
  workload: {
    type: 'closed', model: 'llama-3.1-8b', users: 32, thinkTime: { type: 'exponential', meanMs: 3000 }, rampUpMs: 3000, durationMs: 240_000,
    promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.5, minTokens: 64, maxTokens: 4096 },
    outputTokens: { type: 'lognormal', meanTokens: 120, cv: 0.5, minTokens: 8, maxTokens: 512 },
    turnsPerSession: { type: 'uniform', minTokens: 4, maxTokens: 10 }, userTokens: { type: 'lognormal', meanTokens: 60, cv: 0.5, minTokens: 8, maxTokens: 256 },
    temperature: 0.7,
  },
  cluster: LLAMA8B_ON_M3_ULTRA,
  baseline: { name: 'round-robin (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'round-robin' } } },
  candidate: { name: 'session affinity (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'session-affinity' } } },
  targets: [
    { metric: 'extra.followUpCacheHitRate', kind: 'min', value: 0.85 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  inDefaultSuite: true,
});

export const warmupPool = defineScenario({
  name: 'warmup-pool',
  title: 'Warm pool — first-request TTFT, warm versus cold',
  description: 'Sparse arrivals (0.5 RPS) on 4 workers. Cold: every worker starts without its model loaded and the first request pays the load. Warm: workers are pre-warmed (model loaded, slots allocated) before traffic. Target: the slowest first request of any worker has TTFT < 500 ms warm.',
  seed: 606,
  workload: { type: 'open', model: 'llama-3.1-8b', rate: { type: 'constant', rps: 0.5 }, arrival: { type: 'poisson' }, durationMs: 120_000, ...CHAT, temperature: 0.7 },
  cluster: { ...LLAMA8B_ON_M3_ULTRA, startWarm: false },
  baseline: { name: 'cold start (4 workers)', kind: 'gateway', workers: 4, gateway: {}, startWarm: false },
  candidate: { name: 'warm pool (4 workers)', kind: 'gateway', workers: 4, gateway: {}, startWarm: true },
  targets: [{ metric: 'extra.firstRequestTtftMaxMs', kind: 'max', value: 500 }],
  inDefaultSuite: true,
});

/** Five 20-second bursts (1 RPS), 60 s apart: each gap is longer than the idle-unload time. */
const BURSTS = [0, 20_000, 80_000, 100_000, 160_000, 180_000, 240_000, 260_000, 320_000, 340_000].map((atMs, k) => ({ atMs, rps: k % 2 === 0 ? 1 : 0 }));

export const idleUnload = defineScenario({
  name: 'idle-unload',
  title: 'Idle unload — a bursty model unloaded between bursts, or kept warm because it is hot',
  description: 'One M3 Ultra (Llama-3.1-8B) serves five 20-second bursts of chat at 1 RPS, 60 s apart. Its model is unloaded after 30 s idle (the live node\'s idleUnloadMs, scaled down from its 600 s default to keep the run short), decided by core (core/worker/model-lifecycle.ts) as on a live node. Baseline: no prewarm — every burst after the first pays the model load. Candidate: prewarm (a model with at least 10 requests in the last 120 s is hot: kept loaded and warmed). Targets: the candidate loads the model only once (at start: none, it starts warm), and its P95 TTFT is at most 0.8× the baseline\'s (seed 608: 0.66×; a model load of this 8B model is ~1.4 s, a larger model\'s costs more).',
  seed: 608,
  workload: { type: 'open', model: 'llama-3.1-8b', rate: { type: 'step', steps: BURSTS }, arrival: { type: 'poisson' }, durationMs: 360_000, ...CHAT, temperature: 0.7 },
  cluster: LLAMA8B_ON_M3_ULTRA,
  baseline: { name: 'idle unload (1 worker)', kind: 'gateway', workers: 1, gateway: {}, modelIdle: { idleUnloadMs: 30_000 } },
  candidate: { name: 'idle unload + prewarm (1 worker)', kind: 'gateway', workers: 1, gateway: {}, modelIdle: { idleUnloadMs: 30_000, prewarm: { windowMs: 120_000, minRequests: 10 } } },
  targets: [
    { metric: 'extra.coldStarts', kind: 'max', value: 0 },
    { metric: 'ttftP95', kind: 'ratio-max', value: 0.8 },
  ],
  report: ['extra.idleUnloads', 'extra.prewarms'],
  notes: [
    'A warmup generate costs the simulated worker nothing; the live node sends one short request to an idle runtime.',
    'The run ends with its last request (the workers\' idle checks would otherwise run on), so both sides divide by the same time.',
  ],
  inDefaultSuite: false,
});

export const memoryGovernance = defineScenario({
  name: 'memory-governance',
  title: 'Memory governance — long contexts under high load',
  description: 'Long contexts (8K tokens on average) at high concurrency on a 96 GB M3 Ultra (Llama-3.1-8B, fp16 KV: 128 KiB per token) with a batch limit of 64. The direct engine admits whatever its batch allows: its peak KV demand is reported against the memory it has (above 100 % is an out-of-memory). The gateway admits through the memory governor: sequences wait instead, idle session caches are evicted at the 80 % watermark, and evictions are counted.',
  seed: 707,
  workload: {
    type: 'closed', model: 'llama-3.1-8b', users: 64, thinkTime: { type: 'exponential', meanMs: 500 }, rampUpMs: 2000, durationMs: 240_000,
    promptTokens: { type: 'lognormal', meanTokens: 8000, cv: 0.3, minTokens: 2000, maxTokens: 30_000 },
    outputTokens: { type: 'lognormal', meanTokens: 300, cv: 0.5, minTokens: 16, maxTokens: 1024 },
    turnsPerSession: { type: 'uniform', minTokens: 1, maxTokens: 3 }, userTokens: { type: 'lognormal', meanTokens: 200, cv: 0.5, minTokens: 16, maxTokens: 1024 },
    temperature: 0.7, contextTokensMax: 32_000,
  },
  cluster: { ...LLAMA8B_ON_M3_ULTRA, memoryGB: 96, maxSequences: 64 },
  baseline: DIRECT,
  candidate: { name: 'mlx-serving (1 worker)', kind: 'gateway', workers: 1, gateway: {} },
  targets: [
    { metric: 'successRate', kind: 'min', value: 100 },
    { metric: 'extra.kvPeakFraction', kind: 'max', value: 1 },
    { metric: 'extra.outOfMemory', kind: 'max', value: 0 },
  ],
  inDefaultSuite: true,
});

export const breakerFailover = defineScenario({
  name: 'breaker-failover',
  title: 'Breaker and failover — a worker dies mid-run',
  description: 'Four workers under steady load; worker 1 crashes at 60 s and restarts after 30 s. Requests that had produced no token are retried on other workers; the breaker stops routing to the dead worker. Target: 100 % success for retryable requests.',
  seed: 808,
  workload: { type: 'open', model: 'qwen3-30b-a3b', rate: { type: 'constant', rps: 6 }, arrival: { type: 'poisson' }, durationMs: 180_000, ...CHAT, temperature: 0.7, stream: false },
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  faults: { crashes: [{ workerIndex: 1, atMs: 60_000, restartAfterMs: 30_000 }] },
  baseline: { name: 'no retries (4 workers)', kind: 'gateway', workers: 4, gateway: { retry: { attemptsMax: 1 } } },
  candidate: { name: 'retries + breaker (4 workers)', kind: 'gateway', workers: 4, gateway: {} },
  targets: [{ metric: 'extra.retryableSuccessRate', kind: 'min', value: 1 }],
  inDefaultSuite: true,
});
