// Every metric the gateway exports, in one place. Prefix `mlx_serving_`; units last; counters end in
// `_total` (Prometheus naming conventions).
export const METRIC = {
  httpRequests: 'mlx_serving_http_requests_total',
  ttftSeconds: 'mlx_serving_ttft_seconds',
  interTokenSeconds: 'mlx_serving_inter_token_latency_seconds',
  requestSeconds: 'mlx_serving_request_duration_seconds',
  promptTokens: 'mlx_serving_prompt_tokens_total',
  completionTokens: 'mlx_serving_completion_tokens_total',
  cachedPromptTokens: 'mlx_serving_cached_prompt_tokens_total',
  tenantRequests: 'mlx_serving_tenant_requests_total',
  tenantTokens: 'mlx_serving_tenant_tokens_total',
  outcomes: 'mlx_serving_requests_outcome_total',
  dedupeHits: 'mlx_serving_dedupe_hits_total',
  cacheHits: 'mlx_serving_cache_hits_total',
  cacheMisses: 'mlx_serving_cache_misses_total',
  cacheEvictions: 'mlx_serving_cache_evictions_total',
  cacheEntries: 'mlx_serving_cache_entries',
  coalescedGroups: 'mlx_serving_coalesced_groups_total',
  coalescedRequests: 'mlx_serving_coalesced_requests_total',
  coalescedTokensSaved: 'mlx_serving_coalesced_tokens_saved_total',
  batchSize: 'mlx_serving_batch_size',
  retries: 'mlx_serving_retries_total',
  rateLimited: 'mlx_serving_rate_limited_total',
  breakerState: 'mlx_serving_breaker_state',
  workerHealthy: 'mlx_serving_worker_healthy',
  workerInFlight: 'mlx_serving_worker_in_flight',
  workerDispatches: 'mlx_serving_worker_dispatches_total',
  workerTokens: 'mlx_serving_worker_generated_tokens_total',
  workerConcurrencyLimit: 'mlx_serving_worker_concurrency_limit',
  workerKvUsedRatio: 'mlx_serving_worker_kv_used_ratio',
  workerKvUsedBytes: 'mlx_serving_worker_kv_used_bytes',
  workerStreamReconnects: 'mlx_serving_worker_stream_reconnects_total',
  activeRequests: 'mlx_serving_active_requests',
  slowClientCancels: 'mlx_serving_slow_client_cancels_total',
  kvWatermarkRatio: 'mlx_serving_kv_watermark_ratio',
  rollingRestartRunning: 'mlx_serving_rolling_restart_running',
  rollingRestartStartedSeconds: 'mlx_serving_rolling_restart_started_timestamp_seconds',
  rollingRestartWorkersDone: 'mlx_serving_rolling_restart_workers_done',
  desiredWorkers: 'mlx_serving_desired_workers',
  canaryWeight: 'mlx_serving_canary_weight',
  canaryRollbacks: 'mlx_serving_canary_rollbacks_total',
  modelLoads: 'mlx_serving_model_loads_total',
} as const;

// The process metrics (prom-client's collectDefaultMetrics under the prefix `mlx_serving_`), registered
// by registerProcessMetrics (live/shared/process-metrics.ts) on the gateway's own registry, and on a
// worker node's when it serves --metrics-address. Only those the dashboards and alerts use are named
// here; a scrape carries the rest of prom-client's set (handles, heap spaces, versions).
export const PROCESS_METRIC_PREFIX = 'mlx_serving_';
export const PROCESS_METRIC = {
  cpuSeconds: 'mlx_serving_process_cpu_seconds_total',
  residentMemoryBytes: 'mlx_serving_process_resident_memory_bytes',
  openFds: 'mlx_serving_process_open_fds',
  startTimeSeconds: 'mlx_serving_process_start_time_seconds',
  heapUsedBytes: 'mlx_serving_nodejs_heap_size_used_bytes',
  eventLoopLagSeconds: 'mlx_serving_nodejs_eventloop_lag_seconds',
  eventLoopLagP99Seconds: 'mlx_serving_nodejs_eventloop_lag_p99_seconds',
  gcSeconds: 'mlx_serving_nodejs_gc_duration_seconds',
} as const;
