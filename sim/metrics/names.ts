// Every metric name of the simulator, in one place. Histograms hold milliseconds; counters are totals.
// The order here is the order of the summary's keys (stable JSON).

export const HISTOGRAM_NAMES = ['ttft_ms', 'itl_ms', 'e2e_ms', 'queue_wait_ms', 'prefill_ms', 'decode_ms'] as const;
export type HistogramName = (typeof HISTOGRAM_NAMES)[number];

export const COUNTER_NAMES = [
  'requests_arrived',
  'requests_completed',
  'requests_failed',
  'requests_rejected',
  'output_tokens',
  'prompt_tokens',
  'prompt_tokens_cached',
  'prefix_cache_hits',
  'dedupe_hits',
  'response_cache_hits',
  'coalesced_groups',
  'coalesced_followers',
  'tokens_saved',
  'retries',
  'worker_crashes',
  'cold_starts',
  'goodput_output_tokens',
] as const;
export type CounterName = (typeof COUNTER_NAMES)[number];

/**
 * Goodput: output tokens of requests whose mean time per output token after the first, as the client
 * saw it, is within the performance PRD's interactive bound (P95 ITL < 120 ms, applied per request).
 */
export const GOODPUT_TPOT_MS = 120;

/** Named constants, so call sites read `Metric.ttftMs` and a typo does not compile. */
export const Metric = {
  ttftMs: 'ttft_ms',
  itlMs: 'itl_ms',
  e2eMs: 'e2e_ms',
  queueWaitMs: 'queue_wait_ms',
  prefillMs: 'prefill_ms',
  decodeMs: 'decode_ms',
  requestsArrived: 'requests_arrived',
  requestsCompleted: 'requests_completed',
  requestsFailed: 'requests_failed',
  requestsRejected: 'requests_rejected',
  outputTokens: 'output_tokens',
  promptTokens: 'prompt_tokens',
  promptTokensCached: 'prompt_tokens_cached',
  prefixCacheHits: 'prefix_cache_hits',
  dedupeHits: 'dedupe_hits',
  responseCacheHits: 'response_cache_hits',
  coalescedGroups: 'coalesced_groups',
  coalescedFollowers: 'coalesced_followers',
  tokensSaved: 'tokens_saved',
  retries: 'retries',
  workerCrashes: 'worker_crashes',
  coldStarts: 'cold_starts',
} as const satisfies Record<string, HistogramName | CounterName>;
