// Every default in one place, with where it comes from.
// AD = the architecture document (../shared/seeds/000…), PRD = the performance PRD (../shared/seeds/003…).
import type { BatchingConfig, GatewayConfig, RoutingConfig } from './types.js';

export const DEFAULT_ROUTING: Record<RoutingConfig['type'], RoutingConfig> = {
  'session-affinity': { type: 'session-affinity', overloadFraction: 0.9 },
  'round-robin': { type: 'round-robin' },
  'least-loaded': { type: 'least-loaded' },
  'power-of-two': { type: 'power-of-two' },
  'latency-aware': { type: 'latency-aware', ewmaAlpha: 0.3 },
  // SGLang router defaults: balance_abs_threshold 32, balance_rel_threshold 1.0001 (scaled to our
  // per-worker concurrency of a few requests).
  'prefix-aware': { type: 'prefix-aware', blocksMax: 1_000_000, minMatchBlocks: 1, balanceAbsThreshold: 4, balanceRelThreshold: 1.5 },
};

export const DEFAULT_BATCHING: Record<BatchingConfig['type'], BatchingConfig> = {
  none: { type: 'none' },
  // AD: 5–10 ms window, max batch 4.
  micro: { type: 'micro', windowMs: 5, maxBatchSize: 4, dispatchWhenIdle: true },
  adaptive: { type: 'adaptive', dispatchWhenIdle: true, minBatchSize: 1, maxBatchSize: 16, latencyBudgetMs: 50, windowMsMax: 10, perModel: {} },
};

export const DEFAULT_GATEWAY_CONFIG: GatewayConfig = {
  routing: DEFAULT_ROUTING['session-affinity'], // AD: consistent hashing + load-aware fallback
  batching: DEFAULT_BATCHING.micro,
  caching: {
    dedupe: { enabled: true, ttlMs: 1000, entriesMax: 10_000 }, // PRD: 1 s dedupe window
    responseCache: { enabled: true, entriesMax: 10_000, ttlMs: undefined }, // PRD: 10k-entry LRU
    coalescing: { enabled: true, followerTimeoutMs: 30_000, followersMax: 64, groupsMax: 10_000 },
    shareNondeterministic: false,
  },
  // AD: timeout > 10 s, error rate > 10 % over 30 s, 3 health failures, 60 s cooldown.
  breaker: { enabled: true, timeoutMs: 10_000, errorRateMax: 0.1, errorWindowMs: 30_000, volumeMin: 10, healthFailuresMax: 3, cooldownMs: 60_000, halfOpenProbesMax: 3 },
  // gRPC A6 throttling (maxTokens, tokenRatio). A6's example uses 10, which one crashed worker with
  // 16 sequences in flight exhausts at once; 100 allows ~50 failed attempts before throttling.
  retry: { attemptsMax: 3, baseDelayMs: 25, capDelayMs: 1000, budgetTokensMax: 100, budgetTokenRatio: 0.1 },
  rateLimit: { enabled: false, requestsPerMinute: 600, tokensPerMinute: 1_000_000, keysMax: 100_000, tenants: {} },
  // The effective limit is min(this, what the worker reports it can batch). The AD's "4–6 concurrent"
  // was for 70B models on M3 Ultra; a continuous-batching runtime reports its own, larger, limit.
  admission: {
    maxConcurrentPerWorker: 64, queueMax: 10_000, queueTimeoutMs: 60_000,
    // Shed a request that cannot start before its queue timeout now, not after it ("shed with 503 and
    // Retry-After rather than time out", issue 8); 1.5: only when the prediction is clearly past it.
    earlyRefusalFactor: 1.5,
    adaptive: {
      // Off by default: the static limit above, as before (every scenario's reference is unchanged).
      enabled: false,
      // 50 ms/token = 20 tok/s per stream, above reading speed; the sizing SLO (scenarios/catalog/
      // capacity.ts) allows ITL p95 ≤ 250 ms, and this is a per-request mean, so it is stricter.
      targetMsPerToken: 50,
      // AD: "4–6 concurrent" requests per worker; below 4 a continuous-batching worker loses most of
      // its batching throughput (sim latency model: Llama-3.1-8B on M3 Ultra, 276 tok/s at 4 vs 115 at 1).
      minConcurrent: 4,
      // Netflix concurrency-limits AIMDLimit: backoffRatio 0.9, +1 per increase (here per round trip).
      decreaseFactor: 0.9,
      increasePerRoundTrip: 1,
    },
  },
  // AD: INT8 KV default, 80 % watermark, 2 models per worker, warmup pool 10–20 % of capacity.
  memory: { kvPrecision: 'int8', watermarkFraction: 0.8, modelsPerWorkerMax: 2, idleUnloadMs: 600_000, idleSessionsMax: 4096, warmupPoolFraction: 0.15, warmupRefillMs: 200 },
  // AD: heartbeat every 5 s; 3 misses → unhealthy.
  health: { heartbeatIntervalMs: 5000, missesMax: 3 },
  // Off by default (observation only). ρ 0.7: M/M/c queueing delay stays small below ~70 % busy;
  // 5 min scale-down stabilisation: the Kubernetes HPA default (--horizontal-pod-autoscaler-downscale-stabilization).
  scaling: { enabled: false, windowMs: 30_000, targetUtilisation: 0.7, backlogDrainMs: 30_000, scaleDownStabilisationMs: 300_000, minWorkers: 1, maxWorkers: 1000 },
  // Off by default: with one tenant, fair queueing is FIFO anyway.
  fairness: { enabled: false, weights: {}, defaultWeight: 1 },
  // No model canaried by default. A 5-point error-rate rise or a 1.5× TTFT p95 over a minute, once
  // each version has 20 attempts in it: coarse enough not to roll back on noise at a 5 % split.
  catalog: {},
  canary: { maxErrorRateDelta: 0.05, maxLatencyRatio: 1.5, minRequests: 20, windowMs: 60_000, evaluateEveryMs: 1000, models: {} },
  requestsInFlightMax: 100_000,
  preferWarm: false,
};
