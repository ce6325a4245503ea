// The public API of core/: pure serving policies and the gateway state machine.
export type * from './types.js';
export * from './errors.js';
export { ConfigError } from './config/config-error.js';
export type * from './config/types.js';
export { DEFAULT_GATEWAY_CONFIG, DEFAULT_ROUTING, DEFAULT_BATCHING } from './config/defaults.js';
export { resolveGatewayConfig } from './config/validate.js';

export type { RoutingPolicy, WorkerView, RoutingContext } from './routing/policy.js';
export { createRoutingPolicy } from './routing/factory.js';
export { mergeDecisions, type CanaryDecisions } from './canary/canary-router.js';
export { jumpHash } from './routing/jump-hash.js';
export { routableCandidates } from './routing/candidates.js';

export type { Batcher } from './batching/batcher.js';
export { createBatcher } from './batching/factory.js';

export { fingerprint, isShareable } from './caching/fingerprint.js';
export { prefixBlocksOfText, PREFIX_BLOCK_CHARS } from './caching/prefix-blocks.js';
export { Lru } from './caching/lru.js';
export { ResponseStore, type CachedAnswer } from './caching/response-store.js';
export { Coalescer } from './caching/coalescer.js';

export { CircuitBreaker, type BreakerState, type BreakerParams } from './breaker/circuit-breaker.js';
export { cappedExponentialDelayMs, fullJitterDelayMs } from './retry/backoff.js';
export { WORKER_ERROR_CATALOGUE, isClientFault, isRetryable, type WorkerErrorCode, type WorkerErrorSpec } from './worker/errors.js';
export { estimatePromptTokens, kvReserveTokens, onKvShortfall, MESSAGE_TEMPLATE_BYTES, type KvShortfall, type KvShortfallDecision } from './worker/kv-reservation.js';
export { deadlineDelayMs, deadlinePassed, waitWithinDeadline, NO_DEADLINE } from './worker/deadline.js';
export { onRuntimeLost, type RuntimeLost, type RuntimeLostDecision } from './worker/runtime-lost.js';
export { admitWithinLimits, validateAdmissionLimits, waitWithinLimits, type AdmissionLimits, type LimitDecision } from './worker/admission-limits.js';
export { HotModels, idleModelAction, modelUnhealthy, UNHEALTHY_FAILURES, type IdleModelAction, type PrewarmParams } from './worker/model-lifecycle.js';
export { leastBy } from './util/least-by.js';
export { estimateTokens, estimateTokensOfBytes, utf8Length, BYTES_PER_TOKEN_ESTIMATE } from './tokens/estimate.js';
export { RetryBudget } from './retry/retry-budget.js';
export { RetryPolicy } from './retry/retry-policy.js';
export { TokenBucket } from './limits/token-bucket.js';
export { RateLimiter } from './limits/rate-limiter.js';
export { kvBytesPerToken, KV_BYTES_PER_ELEMENT, type KvPrecision, type KvShape } from './memory/kv-bytes.js';
export { MemoryGovernor, type Admission, type GovernorParams } from './memory/governor.js';
export { WarmupPool } from './memory/warmup-pool.js';
export { HeartbeatTracker } from './health/heartbeat.js';
export { workersByFormula, type FormulaInput, type FormulaResult } from './capacity/formula.js';

export { GatewayCore, type WorkerInfo } from './gateway/gateway-core.js';
export type * from './gateway/messages.js';
export { isTerminal } from './gateway/messages.js';
export { OutcomeCounters, type Outcome } from './gateway/outcomes.js';
export { RollingRestartPlan, isServing, othersServing, validateRollingParams, type RollingAction, type RollingObservation, type RollingPhase, type RollingRestartParams, type WorkerRestartRecord } from './operations/rolling-restart.js';
export { DesiredWorkers, rawDesiredWorkers, type ScalingInputs, type ScalingDecision, type ScalingReason } from './scaling/desired-workers.js';
export type { ModelScaling } from './scaling/scaling-signal.js';
