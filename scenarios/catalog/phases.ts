// The performance PRD's phase targets (../shared/seeds/003…, section 9), on one machine: the gateway
// in front of the same single worker versus the engine alone. Throughput is output tokens delivered
// to clients per second (answers served from cache count: the client received them).
import { defineScenario } from '../define.js';
import { DIRECT, GATEWAY_ONE_WORKER, QWEN3_MOE_ON_M3_ULTRA } from './common.js';

// The candidate's sequences per worker on the GPU: mlx_lm.server's own --decode-concurrency. Measured on
// one H200 (reports/reference/gpu/README.md, seventh session): at 64 the gateway's extra concurrency
// bought throughput but cost ITL p95 (202 ms, phase 3); at 32 every phase target is met in 3
// repetitions. `--live-max-sequences N` overrides it.
const GPU_MAX_SEQUENCES = 32;
// The runtime's context buckets in those runs (the fifth session's bucket probe chose them; a decode
// step alone 1.8× faster at 64 sequences). MLX_RUNTIME_CONTEXT_BUCKETS in the environment overrides them.
const GPU_CONTEXT_BUCKETS = [1024, 4096];

export const phase1DuplicateHeavy = defineScenario({
  name: 'phase1-duplicate-heavy',
  title: 'Phase 1 — duplicate-heavy chat support load',
  description: 'A support bot: 32 users in a closed loop, 40 % of questions are exact repeats of a hot set of 50 (Zipf 1.1, temperature 0). Gateway dedupe, response cache and coalescing versus the engine alone.',
  seed: 101,
  workload: {
    type: 'closed', model: 'qwen3-30b-a3b', users: 32, thinkTime: { type: 'exponential', meanMs: 1000 }, rampUpMs: 2000, durationMs: 300_000,
    promptTokens: { type: 'lognormal', meanTokens: 400, cv: 0.5, minTokens: 32, maxTokens: 2048 },
    outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.5, minTokens: 16, maxTokens: 1024 },
    turnsPerSession: { type: 'fixed', tokens: 1 }, userTokens: { type: 'fixed', tokens: 64 },
    duplicates: { ratio: 0.4, hotSetSize: 50, zipfExponent: 1.1 }, temperature: 0.7,
  },
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  baseline: DIRECT,
  candidate: GATEWAY_ONE_WORKER,
  targets: [
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 1.1 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  // Live on this 2-core CPU: the small model, lengths ÷ 10, 16 users, 60 s. On a CUDA GPU (`gpu`):
  // the sim workload unscaled on gpu-1b — a Llama-shaped bf16 model that keeps a run of both sides to
  // ~2 min of H200 time per repetition (gpu-8b, `--live-model gpu-8b`, decodes ~3× slower).
  live: { model: 'small', users: 16, durationMs: 60_000, tokenScale: 0.1, gpu: { model: 'gpu-1b', users: 32, durationMs: 45_000, tokenScale: 1, maxSequences: GPU_MAX_SEQUENCES, contextBuckets: GPU_CONTEXT_BUCKETS } },
  inDefaultSuite: true,
});

export const phase2Mixed = defineScenario({
  name: 'phase2-mixed',
  title: 'Phase 2 — mixed lengths, few duplicates',
  description: 'Short and long prompts and answers (lognormal, CV 1), 5 % exact repeats, 48 users in a closed loop. Target: ≥ 1.05× throughput with no worse P95 end-to-end latency.',
  seed: 202,
  workload: {
    type: 'closed', model: 'qwen3-30b-a3b', users: 48, thinkTime: { type: 'exponential', meanMs: 1000 }, rampUpMs: 2000, durationMs: 300_000,
    promptTokens: { type: 'lognormal', meanTokens: 800, cv: 1, minTokens: 16, maxTokens: 8192 },
    outputTokens: { type: 'lognormal', meanTokens: 250, cv: 1, minTokens: 8, maxTokens: 2048 },
    turnsPerSession: { type: 'uniform', minTokens: 1, maxTokens: 4 }, userTokens: { type: 'lognormal', meanTokens: 100, cv: 0.5, minTokens: 8, maxTokens: 512 },
    duplicates: { ratio: 0.05, hotSetSize: 200, zipfExponent: 1.0 }, temperature: 0.7,
  },
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  baseline: DIRECT,
  candidate: GATEWAY_ONE_WORKER,
  targets: [
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 1.05 },
    { metric: 'e2eP95', kind: 'ratio-max', value: 1.0 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  // GPU: the sim workload unscaled on gpu-1b (see phase 1), 30 s: its long answers (up to 2,048 tokens) drain after it
  // (up to 60 s), so that 3 repetitions of both sides fit one 10-minute device call.
  live: { model: 'small', users: 16, durationMs: 60_000, tokenScale: 0.1, gpu: { model: 'gpu-1b', users: 48, durationMs: 30_000, tokenScale: 1, maxSequences: GPU_MAX_SEQUENCES, contextBuckets: GPU_CONTEXT_BUCKETS } },
  inDefaultSuite: true,
});

export const phase3HighConcurrency = defineScenario({
  name: 'phase3-high-concurrency',
  title: 'Phase 3 — 128 concurrent users',
  description: '128 users in a closed loop (think 2 s) holding multi-turn chats, 15 % exact repeats (FAQ-style). Target: ≥ 1.20× throughput with P95 inter-token latency < 120 ms. Throughput is also drawn against the number of users.',
  seed: 303,
  workload: {
    type: 'closed', model: 'qwen3-30b-a3b', users: 128, thinkTime: { type: 'exponential', meanMs: 2000 }, rampUpMs: 5000, durationMs: 300_000,
    promptTokens: { type: 'lognormal', meanTokens: 500, cv: 0.7, minTokens: 16, maxTokens: 4096 },
    outputTokens: { type: 'lognormal', meanTokens: 200, cv: 0.7, minTokens: 8, maxTokens: 1024 },
    turnsPerSession: { type: 'uniform', minTokens: 1, maxTokens: 6 }, userTokens: { type: 'lognormal', meanTokens: 80, cv: 0.5, minTokens: 8, maxTokens: 512 },
    duplicates: { ratio: 0.15, hotSetSize: 100, zipfExponent: 1.1 }, temperature: 0.7,
  },
  cluster: QWEN3_MOE_ON_M3_ULTRA,
  baseline: DIRECT,
  candidate: GATEWAY_ONE_WORKER,
  targets: [
    { metric: 'outputTokPerS', kind: 'ratio-min', value: 1.2 },
    { metric: 'itlP95', kind: 'max', value: 120 },
    { metric: 'successRate', kind: 'min', value: 100 },
  ],
  sweep: { over: 'users', values: [16, 32, 64, 128, 192, 256] },
  // 128 users do not fit this CPU in minutes: 32 users (the batch limit), lengths ÷ 10, 90 s.
  // GPU: all 128 users, the sim workload unscaled, on gpu-1b (see phase 1).
  live: { model: 'small', users: 32, durationMs: 90_000, tokenScale: 0.1, gpu: { model: 'gpu-1b', users: 128, durationMs: 45_000, tokenScale: 1, maxSequences: GPU_MAX_SEQUENCES, contextBuckets: GPU_CONTEXT_BUCKETS } },
  inDefaultSuite: true,
});
