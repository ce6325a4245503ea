// Configuration of every policy. Tagged unions where there is a choice of implementation; units in
// field names. Defaults live in defaults.ts, validation in validate.ts.
import type { KvPrecision } from '../memory/kv-bytes.js';

export type RoutingConfig =
  | { readonly type: 'session-affinity'; readonly overloadFraction: number }
  | { readonly type: 'round-robin' }
  | { readonly type: 'least-loaded' }
  | { readonly type: 'power-of-two' }
  | { readonly type: 'latency-aware'; readonly ewmaAlpha: number }
  | {
      readonly type: 'prefix-aware';
      readonly blocksMax: number;
      readonly minMatchBlocks: number;
      readonly balanceAbsThreshold: number;
      readonly balanceRelThreshold: number;
    };

/**
 * `dispatchWhenIdle` (micro and adaptive; absent = true), Nagle's rule for the batching window: an
 * arriving request of a model none of whose dispatched requests is still waiting for its worker's
 * first answer leaves at once, with whatever waits for its model; requests wait for the window only
 * while one is, and leave as soon as the last of those is answered (or the window ends, whichever
 * comes first). A retry, or a follower released to run alone, waits for the window as before.
 * False: every request waits for the window (or a full batch).
 */
export type BatchingConfig =
  | { readonly type: 'none' }
  | { readonly type: 'micro'; readonly windowMs: number; readonly maxBatchSize: number; readonly dispatchWhenIdle?: boolean }
  | {
      readonly type: 'adaptive';
      readonly dispatchWhenIdle?: boolean;
      readonly minBatchSize: number;
      readonly maxBatchSize: number;
      readonly latencyBudgetMs: number;
      readonly windowMsMax: number;
      readonly perModel: Readonly<Record<string, { readonly maxBatchSize?: number; readonly latencyBudgetMs?: number }>>;
    };

export interface CachingConfig {
  readonly dedupe: { readonly enabled: boolean; readonly ttlMs: number; readonly entriesMax: number };
  readonly responseCache: { readonly enabled: boolean; readonly entriesMax: number; readonly ttlMs: number | undefined };
  readonly coalescing: {
    readonly enabled: boolean;
    readonly followerTimeoutMs: number;
    readonly followersMax: number;
    readonly groupsMax: number;
  };
  /** Share answers of sampled requests without a seed too (off: only deterministic ones). */
  readonly shareNondeterministic: boolean;
}

export interface BreakerConfig {
  readonly enabled: boolean;
  readonly timeoutMs: number;
  readonly errorRateMax: number;
  readonly errorWindowMs: number;
  readonly volumeMin: number;
  readonly healthFailuresMax: number;
  readonly cooldownMs: number;
  readonly halfOpenProbesMax: number;
}

export interface RetryConfig {
  readonly attemptsMax: number;
  readonly baseDelayMs: number;
  readonly capDelayMs: number;
  readonly budgetTokensMax: number;
  readonly budgetTokenRatio: number;
}

export interface RateLimitConfig {
  readonly enabled: boolean;
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
  readonly keysMax: number;
  /** Limits of named tenants, shared by all their credentials, on top of each credential's (core/limits/tenant-limiter.ts). */
  readonly tenants: Readonly<Record<string, TenantRateLimit>>;
}

export interface TenantRateLimit {
  readonly requestsPerMinute: number;
  readonly tokensPerMinute: number;
}

export interface AdmissionConfig {
  /** Requests one worker may have in flight from this gateway. */
  readonly maxConcurrentPerWorker: number;
  /** Requests waiting at the gateway for a free worker, across models. Beyond: 503. */
  readonly queueMax: number;
  /** A request waiting longer than this is refused with 503. */
  readonly queueTimeoutMs: number;
  /**
   * Refuse at once (503 queue_full, Retry-After = the predicted wait) a request that would join the
   * queue when the wait predicted from the model's measured drain rate — (requests ahead + 1) ÷
   * completions per second over the last 10 s — exceeds earlyRefusalFactor × queueTimeoutMs: it would
   * only time out there. Above 1, so a noisy prediction near the timeout does not refuse requests that
   * would have made it (those still wait and may time out). 0 turns it off.
   */
  readonly earlyRefusalFactor: number;
  /**
   * Adaptive per-worker limit (core/admission/adaptive-limit.ts): AIMD on the decode ms per token of
   * completed requests, between minConcurrent and the static limit above. Off: the static limit.
   */
  readonly adaptive: AdaptiveAdmissionConfig;
}

export interface AdaptiveAdmissionConfig {
  readonly enabled: boolean;
  /** Decode ms per output token (a completed request's mean inter-token latency) above which a worker counts as overloaded. */
  readonly targetMsPerToken: number;
  /** The adaptive limit never goes below this many requests per worker. */
  readonly minConcurrent: number;
  /** The limit is multiplied by this on an overloaded sample (at most once per round trip). */
  readonly decreaseFactor: number;
  /** Requests added to the limit per round trip (per `limit` samples within the target). */
  readonly increasePerRoundTrip: number;
}

export interface MemoryConfig {
  readonly kvPrecision: KvPrecision;
  readonly watermarkFraction: number;
  readonly modelsPerWorkerMax: number;
  readonly idleUnloadMs: number;
  readonly idleSessionsMax: number;
  readonly warmupPoolFraction: number;
  readonly warmupRefillMs: number;
}

export interface HealthConfig {
  readonly heartbeatIntervalMs: number;
  readonly missesMax: number;
}

/** The scaling signal (core/scaling/desired-workers.ts states the formula): observation only, it changes no serving decision. */
export interface ScalingConfig {
  /** Off: no signal is computed (no metric series, /admin/scaling lists no model). */
  readonly enabled: boolean;
  /** Arrival, completion and service-time window. */
  readonly windowMs: number;
  /** ρ: the fraction of the workers' slots busy at the target. */
  readonly targetUtilisation: number;
  /** H: a backlog queued at the gateway should drain within this. */
  readonly backlogDrainMs: number;
  /** A drop must hold this long before the signal follows it (scaling up is immediate). */
  readonly scaleDownStabilisationMs: number;
  readonly minWorkers: number;
  readonly maxWorkers: number;
}

/**
 * Fairness between tenants in the gateway's queues (core/gateway/fair-queue.ts): while requests wait
 * for a worker, each tenant's are served in turn, in proportion to its weight, so one tenant's burst
 * cannot starve another's requests. A request's tenant is set by the live gateway from its credential
 * (API key or JWT claim) or by the simulated workload; without one it is the default tenant ('').
 */
export interface FairnessConfig {
  /** Off: one FIFO per model (arrival order). */
  readonly enabled: boolean;
  /** Share of each named tenant (> 0); a tenant not named has defaultWeight. */
  readonly weights: Readonly<Record<string, number>>;
  readonly defaultWeight: number;
}

/** The margins by which a canary may regress against the stable version (core/canary/rollback.ts). */
export interface CanaryMargins {
  /** Canary error rate minus stable error rate above this → rollback (0.05 = 5 points). */
  readonly maxErrorRateDelta: number;
  /** Canary TTFT p95 above this multiple of the stable one → rollback. */
  readonly maxLatencyRatio: number;
  /** No verdict before both versions have this many attempts in the window. */
  readonly minRequests: number;
}

export interface CanaryVersion {
  /** Served by the workers advertising the model id `<name>@<version>`. */
  readonly version: string;
  /** Share of the model's requests (relative to the other versions' weights); 0 = none. */
  readonly weight: number;
}

/** Versions and canaries (core/canary/canary-router.ts): a public model name → weighted versions. */
export interface CanaryConfig extends CanaryMargins {
  /** The outcome window both versions are judged over. */
  readonly windowMs: number;
  /** The canaries are judged at most this often. */
  readonly evaluateEveryMs: number;
  /** Per public model name: its stable version and every version with its weight. Empty: no canaries. */
  readonly models: Readonly<Record<string, { readonly stable: string; readonly versions: readonly CanaryVersion[] }>>;
}

/** What a worker needs to load a model the gateway may place at run time (core/gateway/model-loads.ts). */
export interface CatalogEntry {
  /** Where the worker finds the weights (sent with LoadModel). */
  readonly path: string;
  /** Its size in memory, bytes: placement prefers a worker reporting at least this much free. */
  readonly bytes: number;
}

export interface GatewayConfig {
  readonly routing: RoutingConfig;
  readonly batching: BatchingConfig;
  readonly caching: CachingConfig;
  readonly breaker: BreakerConfig;
  readonly retry: RetryConfig;
  readonly rateLimit: RateLimitConfig;
  readonly admission: AdmissionConfig;
  readonly memory: MemoryConfig;
  readonly health: HealthConfig;
  readonly scaling: ScalingConfig;
  readonly fairness: FairnessConfig;
  readonly canary: CanaryConfig;
  /** Model id → how to load it: a request for a catalogued model no worker holds loads it on one (empty: none). */
  readonly catalog: Readonly<Record<string, CatalogEntry>>;
  /** Requests tracked at once (waiting, running, following); beyond it arrivals get 503. */
  readonly requestsInFlightMax: number;
  /**
   * Route a model's requests to workers holding it warm while one of them has half its slots free,
   * away from workers that report it cold (idle-unloaded; WorkerStatus.coldModels). Off by default:
   * in the sim suite it shortened warmup-pool's baseline TTFT p95 by 24 % but lengthened its ITL p95
   * by 17 % and breaker-failover's E2E p95 by 6 % (load concentrated on fewer workers).
   */
  readonly preferWarm: boolean;
}

/** A partial override, as read from a file or written in a scenario. */
export type DeepPartial<T> = T extends readonly unknown[]
  ? T
  : T extends object
    ? { readonly [K in keyof T]?: DeepPartial<T[K]> }
    : T;
