// Adaptive per-worker concurrency limit (issue 8, graceful degradation): how many requests the
// gateway keeps in flight on one worker — that worker's continuous-batching decode batch — shrinks
// when the worker is overloaded and grows back when it is not. Admitted requests keep their token
// rate; the excess waits in the gateway queue or is refused there (503 + Retry-After) by the
// existing queue bound and queue timeout.
//
// The rule is AIMD, as in Netflix concurrency-limits' AIMDLimit
// (https://github.com/Netflix/concurrency-limits, core/src/main/java/com/netflix/concurrency/limits/limit/AIMDLimit.java):
// a sample above the target multiplies the limit by `decreaseFactor` (AIMDLimit's backoffRatio, 0.9);
// a sample within it adds to the limit, only while the limit is actually used (AIMDLimit grows only
// when inflight ≥ limit / 2, so an idle worker's limit does not drift up). Two changes borrowed from
// TCP congestion avoidance (RFC 5681) because one LLM request lives for seconds and a whole batch
// completes within one "round trip":
//   - the increase is `increasePerRoundTrip / limit` per good sample, i.e. about +1 per limit's worth
//     of completions (AIMDLimit adds 1 per sample, which at batch 32 would add 32 before the first
//     sample measured under the raised limit came back);
//   - at most one decrease per round trip: a sample of a request dispatched before the last decrease
//     measured the batch as it was then, so it may not decrease the limit again (RFC 5681 §3.1
//     halves cwnd once per window of losses, not once per lost segment).
//
// The signal is decode milliseconds per output token of a completed request, (done − first token) ÷
// (completion tokens − 1): the inter-token latency its client saw, which the decode batch size drives
// (every decode step reads the weights once and the KV cache of every sequence in the batch). Both
// drivers give the core these two events: the simulator delivers each job's first token and its end
// (sim/cluster/cluster.ts, TOKENS_EVENT_EVERY = 0 means no intermediate token events), the live
// gateway every token chunk. A request without a first-token event, or with one token, falls back to
// (done − dispatch) ÷ completion tokens, which also counts its prefill.
//
// Pure: no clock (times are arguments), no randomness; the same samples give the same limits.

export interface AdaptiveLimitConfig {
  /** Decode milliseconds per output token above which a sample means "overloaded". */
  readonly targetMsPerToken: number;
  /** The limit never goes below this. */
  readonly minConcurrent: number;
  /** Multiplier applied on an overloaded sample, in (0, 1). */
  readonly decreaseFactor: number;
  /** Added per round trip (per `limit` good samples) while the limit is in use. */
  readonly increasePerRoundTrip: number;
}

export interface LatencySample {
  /** When the request was dispatched to the worker (this attempt). */
  readonly dispatchedAtMs: number;
  /** Decode milliseconds per output token of the request. */
  readonly msPerToken: number;
  /** Requests in flight on the worker when it completed (itself included). */
  readonly inFlight: number;
}

export class AdaptiveLimit {
  private value: number;
  private lastDecreaseMs = Number.NEGATIVE_INFINITY;
  decreases = 0;
  increases = 0;

  constructor(
    private readonly config: AdaptiveLimitConfig,
    initial: number,
  ) {
    this.value = Math.max(config.minConcurrent, initial);
  }

  /** The limit now: an integer ≥ minConcurrent (the caller caps it by the worker's own limit). */
  get limit(): number {
    return Math.max(this.config.minConcurrent, Math.floor(this.value + 1e-9));
  }

  /**
   * Feeds one completed request's latency; `maxConcurrent` is the static ceiling now
   * (min(admission.maxConcurrentPerWorker, what the worker reports)). Returns the new limit.
   */
  observe(s: LatencySample, maxConcurrent: number, nowMs: number): number {
    const c = this.config;
    const ceiling = Math.max(c.minConcurrent, maxConcurrent);
    if (this.value > ceiling) this.value = ceiling;
    if (!Number.isFinite(s.msPerToken) || s.msPerToken < 0) return this.limit;
    if (s.msPerToken > c.targetMsPerToken) {
      if (s.dispatchedAtMs < this.lastDecreaseMs) return this.limit; // measured the batch before the last decrease
      // Land on an integer, at least one below the old limit: a decrease always admits one request fewer.
      const before = this.limit;
      this.value = Math.max(c.minConcurrent, Math.min(Math.floor(this.value * c.decreaseFactor), before - 1));
      this.lastDecreaseMs = nowMs;
      this.decreases++;
    } else if (s.inFlight * 2 >= this.limit && this.value < ceiling) {
      this.value = Math.min(ceiling, this.value + c.increasePerRoundTrip / this.limit);
      this.increases++;
    }
    return this.limit;
  }

  /** The static ceiling changed (a worker status): the limit never exceeds it. */
  capTo(maxConcurrent: number): void {
    const ceiling = Math.max(this.config.minConcurrent, maxConcurrent);
    if (this.value > ceiling) this.value = ceiling;
  }
}

/**
 * Decode ms per output token of a completed request: (done − first token) ÷ (tokens − 1) when its
 * first token was seen and it produced more than one, else (done − dispatch) ÷ tokens. NaN when the
 * request produced no token (no signal).
 */
export function msPerToken(dispatchedAtMs: number, firstTokenAtMs: number | undefined, doneAtMs: number, completionTokens: number): number {
  if (completionTokens < 1) return Number.NaN;
  if (firstTokenAtMs !== undefined && completionTokens > 1) return (doneAtMs - firstTokenAtMs) / (completionTokens - 1);
  return (doneAtMs - dispatchedAtMs) / completionTokens;
}
