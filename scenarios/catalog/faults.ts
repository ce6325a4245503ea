// Fault scenarios (issue 8, "the same faults are scenarios in both modes"): the simulator's side of
// the live reliability checks — a slow worker, a runtime crash and a rolling restart. Not in the default suite (the
// gate's reference is unchanged); run them by name.
import { defineScenario } from '../define.js';
import { QWEN3_MOE_ON_M3_ULTRA } from './common.js';

const chat = (rps: number) => ({
  type: 'open', model: 'qwen3-30b-a3b', rate: { type: 'constant', rps }, arrival: { type: 'poisson' }, durationMs: 180_000,
  promptTokens: { type: 'lognormal', meanTokens: 300, cv: 0.6, minTokens: 16, maxTokens: 4096 },
  outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.6, minTokens: 8, maxTokens: 1024 },
  temperature: 0.7,
}) as const;

export const slowWorker = defineScenario({
  name: 'slow-worker',
  title: 'Slow worker — one Mac runs 8× slower for 100 s',
  description: 'Four workers under steady load (Poisson, 3 RPS); worker 1 steps 8× slower from 40 s to 140 s (thermal throttling, a noisy neighbour). Round-robin keeps sending it its turn until its batch is full; latency-aware routing (EWMA of observed latency × queue) moves the load to the others. Both keep the breaker and its no-progress timeout (10 s). Targets: P95 E2E at most 0.5× round-robin, 100 % success, the slow worker gets ≤ 5 % of the requests dispatched during its slow window.',
  seed: 811,
  workload: chat(3),
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  faults: { slowdowns: [{ workerIndex: 1, startMs: 40_000, endMs: 140_000, factor: 8 }] },
  baseline: { name: 'round-robin (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'round-robin' } } },
  candidate: { name: 'latency-aware (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'latency-aware', ewmaAlpha: 0.3 }, breaker: { timeoutMs: 10_000 } } },
  targets: [
    { metric: 'e2eP95', kind: 'ratio-max', value: 0.5 },
    { metric: 'successRate', kind: 'min', value: 100 },
    { metric: 'extra.slowWorkerShare', kind: 'max', value: 0.05 },
  ],
  report: ['extra.slowWorkerDispatches', 'extra.windowDispatches'],
  notes: [
    'A slowed worker still heartbeats and still makes progress (every step ends, 8× later), so the no-progress timeout does not fire: it is the backstop for a worker that stops, which breaker-failover and the live slow-worker test cover. Here routing does the work.',
    'slowWorkerShare counts dispatches (a retry is a dispatch) in [40 s, 140 s).',
  ],
  inDefaultSuite: false,
});

const ROLLING = { atMs: 30_000, minHealthyWorkers: 3, processRestartMs: 2000, waitHealthyMs: 30_000, drainTimeoutMs: 60_000, readyTimeoutMs: 120_000 } as const;
const WORKERS = ['w000', 'w001', 'w002', 'w003'] as const;

/** Every 20 s from 20 s to 160 s, the workers' runtimes in turn (w0, w1, w2, w3, w0, …). */
const RUNTIME_CRASH_TIMES_MS = [20_000, 40_000, 60_000, 80_000, 100_000, 120_000, 140_000, 160_000] as const;

export const runtimeCrash = defineScenario({
  name: 'runtime-crash',
  title: 'Runtime crash — a worker\'s MLX runtime dies under load, the gateway retries what sent no token',
  description: 'Four workers under steady load (Poisson, 2 RPS, long prompts); every 20 s from 20 s to 160 s the python runtime of one worker (each in turn) dies (the worker node stays up and keeps its queued requests) and is back 5 s later, then loads the model. A request whose runtime died before its first token ends on the node with runtime_lost (core/worker/runtime-lost.ts), which the gateway core retries like any worker failure: charged to its retry budget and to that worker\'s breaker, on another worker (a simulated worker has one runtime, so it never says retryHere). One that had streamed tokens fails. Baseline: gateway retries off (attemptsMax 1). Candidate: the default retry policy (3 attempts, a budget of 100 tokens). Target: at least 99 % of the requests that had sent no token succeed.',
  seed: 813,
  // Long prompts (RAG-style, mean 2,000 tokens): a crash finds several requests still in prefill.
  workload: { ...chat(2), promptTokens: { type: 'lognormal', meanTokens: 2000, cv: 0.6, minTokens: 64, maxTokens: 8192 } },
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  faults: { crashes: RUNTIME_CRASH_TIMES_MS.map((atMs, k) => ({ workerIndex: k % 4, atMs, restartAfterMs: 5_000, runtime: true })) },
  baseline: { name: 'no gateway retry (4 workers)', kind: 'gateway', workers: 4, gateway: { retry: { attemptsMax: 1 } } },
  candidate: { name: 'gateway retries (4 workers)', kind: 'gateway', workers: 4, gateway: {} },
  targets: [{ metric: 'extra.retryableSuccessRate', kind: 'min', value: 0.99 }],
  report: ['extra.runtimeCrashes', 'extra.runtimeLost', 'extra.retries', 'extra.failedAfterTokens'],
  notes: [
    'The same decision as the live worker node: a request whose runtime is lost before its first token is reported (runtime_lost), never re-run inside the node; the gateway core decides the retry (attempts, budget, breaker). Before issue 13\'s second part the node re-ran it itself (crashRetriesMax), unseen by the retry budget and the breaker.',
    'Seed 813: 9 requests lost before their first token, 8 retried and served; the 9th is refused a retry by the retry budget (gRPC A6: every failed attempt takes a token, a success gives 0.1 back, retries only above half), spent by the ~67 requests that failed after their tokens. The node\'s own re-runs (the result before) re-ran all of them (retryableSuccessRate 1), beyond any budget: that is the point of the change.',
    'The requests that wait on the node while its runtime restarts (5 s + the model load) stay within the gateway\'s no-progress timeout (10 s), so none is timed out.',
  ],
  inDefaultSuite: false,
});

export const rollingRestart = defineScenario({
  name: 'rolling-restart',
  title: 'Rolling restart — every worker restarted under load, none dropped',
  description: 'Four workers under steady load (Poisson, 6 RPS, streaming); from 30 s every worker is restarted, one at a time, under core\'s rolling-restart plan: a worker is taken out only while the 3 others serve (watchdog), drained (the core routes it nothing new) until its in-flight requests finish, restarted (2 s process restart, then the model load: weights ÷ SSD bandwidth) and back when it registers healthy. Baseline: the same order and watchdog without the drain (each restart cuts its in-flight requests; those that had streamed tokens cannot be retried). Targets: 100 % success, the restart completes, never fewer than 3 serving workers.',
  seed: 812,
  workload: chat(6),
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  faults: { rollingRestart: ROLLING },
  baseline: { name: 'restart without drain (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'least-loaded' } }, drainOnRestart: false },
  candidate: { name: 'drained rolling restart (4 workers)', kind: 'gateway', workers: 4, gateway: { routing: { type: 'least-loaded' } } },
  targets: [
    { metric: 'successRate', kind: 'min', value: 100 },
    { metric: 'extra.rollingCompleted', kind: 'min', value: 1 },
    { metric: 'extra.rollingMinServingWorkers', kind: 'min', value: ROLLING.minHealthyWorkers },
  ],
  report: [
    'extra.rollingTotalMs', 'extra.rollingWorkersRestarted', 'extra.rollingCutInFlight', 'extra.failedAfterTokens',
    ...WORKERS.flatMap((w) => [`extra.${w}DrainMs`, `extra.${w}RestartMs`, `extra.${w}ReadyMs`] as const),
  ],
  notes: [
    'Per worker: drain = drain start to no request in flight; restart = process down; ready = model load (cold start) until the worker registers healthy and serving.',
    'The plan polls every 100 ms of virtual time (and steps at once when a restarted worker registers), so drain times are multiples of 100 ms; rollingMinServingWorkers is sampled at every step.',
    "Baseline ready times include the breaker: the cut requests count as the worker's failures, its breaker opens, and it serves again only when the breaker half-opens after its 60 s cooldown (the plan waits for that, as the live restarter does).",
    'The plan (which worker next, the watchdog, the bounds) is core/operations/rolling-restart.ts; the simulator drives it in sim/cluster/rolling.ts.',
  ],
  inDefaultSuite: false,
});
