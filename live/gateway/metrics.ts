// The gateway's Prometheus metrics, registered on a registry passed in (never prom-client's global).
// Figures the core already counts (cache stats, outcomes, retries) are read from it at scrape time,
// so there is one source of truth; the rest (HTTP status, latencies, batch sizes) is observed here.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { BreakerState, GatewayCore } from '../../core/index.js';
import { METRIC } from './metrics-names.js';

export interface WorkerLinkStats {
  readonly id: string;
  readonly reconnects: number;
  readonly kvUsedBytes: number;
}

export interface MetricsSources {
  readonly core: GatewayCore;
  readonly nowMs: () => number;
  readonly links: () => readonly WorkerLinkStats[];
  readonly coalescedGroups: () => number;
  /** The rolling restart's status (absent when the gateway has no restart hook). */
  readonly rolling?: () => { readonly state: string; readonly startedAtMs: number | null; readonly done: readonly unknown[] } | undefined;
}

const BREAKER_VALUE: Record<BreakerState, number> = { closed: 0, 'half-open': 1, open: 2 };

/** Sets a counter to an absolute value read from elsewhere (prom-client counters only go up). */
function setCounter(c: Counter, value: number, labels?: Record<string, string>): void {
  if (labels === undefined) {
    c.reset();
    c.inc(value);
  } else c.inc(labels, value);
}

export class GatewayMetrics {
  readonly httpRequests: Counter<'route' | 'method' | 'status'>;
  readonly ttft: Histogram;
  readonly interToken: Histogram;
  readonly requestDuration: Histogram<'route'>;
  readonly promptTokens: Counter;
  readonly cachedPromptTokens: Counter;
  readonly tenantRequests: Counter;
  readonly tenantTokens: Counter;
  readonly completionTokens: Counter;
  readonly batchSize: Histogram;
  readonly slowClientCancels: Counter;
  readonly workerDispatches: Counter<'worker'>;
  readonly workerTokens: Counter<'worker'>;
  /** Loads of catalogued models the core asked for (core.catalog), by model, worker and result (loaded, failed). */
  readonly modelLoads: Counter<'model' | 'worker' | 'result'>;

  constructor(readonly registry: Registry, src: MetricsSources) {
    const registers = [registry];
    this.httpRequests = new Counter({ name: METRIC.httpRequests, help: 'HTTP requests by route, method and status.', labelNames: ['route', 'method', 'status'], registers });
    this.ttft = new Histogram({
      name: METRIC.ttftSeconds, help: 'Time from arrival to the first token sent to the client.', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    this.interToken = new Histogram({
      name: METRIC.interTokenSeconds, help: 'Time between successive token writes to a streaming client.', registers,
      buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.12, 0.25, 0.5, 1],
    });
    this.requestDuration = new Histogram({
      name: METRIC.requestSeconds, help: 'Time from arrival to the last byte.', labelNames: ['route'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    });
    this.promptTokens = new Counter({ name: METRIC.promptTokens, help: 'Prompt tokens of answered requests (as reported by workers or caches).', registers });
    this.cachedPromptTokens = new Counter({ name: METRIC.cachedPromptTokens, help: 'Prompt tokens of answered requests that were not computed: reused from the runtime\'s prefix cache, or all of a prompt answered from the gateway\'s caches.', registers });
    this.completionTokens = new Counter({ name: METRIC.completionTokens, help: 'Completion tokens sent to clients.', registers });
    // Labelled by tenant: the configured tenants (auth.tenants) and `default`, so the series are bounded.
    this.tenantRequests = new Counter({ name: METRIC.tenantRequests, help: 'Answered requests per tenant (auth.tenants; `default` for credentials in none).', labelNames: ['tenant'], registers });
    this.tenantTokens = new Counter({ name: METRIC.tenantTokens, help: 'Prompt and completion tokens of answered requests per tenant, as their usage said.', labelNames: ['tenant', 'kind'], registers });
    this.batchSize = new Histogram({ name: METRIC.batchSize, help: 'Requests per GenerateBatch message (gateway micro-batching).', registers, buckets: [1, 2, 4, 8, 16, 32, 64, 128] });
    this.workerDispatches = new Counter({ name: METRIC.workerDispatches, help: 'Requests (attempts, retries included) dispatched to each worker.', labelNames: ['worker'], registers });
    this.workerTokens = new Counter({ name: METRIC.workerTokens, help: 'Completion tokens each worker streamed (attempts that failed later included; answers from the gateway\'s caches and coalesced followers not).', labelNames: ['worker'], registers });
    this.modelLoads = new Counter({ name: METRIC.modelLoads, help: 'Catalogued models loaded on a worker for requests no worker could serve (result: loaded or failed).', labelNames: ['model', 'worker', 'result'], registers });
    this.slowClientCancels = new Counter({ name: METRIC.slowClientCancels, help: 'Streams cancelled because the client left too many bytes unread.', registers });

    const core = src.core;
    new Counter({
      name: METRIC.outcomes, help: 'Requests by final outcome in the gateway core.', labelNames: ['outcome'], registers,
      collect() {
        this.reset();
        for (const [outcome, n] of Object.entries(core.outcomes.byOutcome)) this.inc({ outcome }, n);
      },
    });
    new Counter({ name: METRIC.dedupeHits, help: 'Requests answered from the dedupe window.', registers, collect() { setCounter(this, core.dedupe.stats().hits); } });
    new Counter({ name: METRIC.cacheHits, help: 'Response cache hits.', registers, collect() { setCounter(this, core.cache.stats().hits); } });
    new Counter({ name: METRIC.cacheMisses, help: 'Response cache misses.', registers, collect() { setCounter(this, core.cache.stats().misses); } });
    new Counter({ name: METRIC.cacheEvictions, help: 'Response cache evictions (LRU).', registers, collect() { setCounter(this, core.cache.stats().evictions); } });
    new Gauge({ name: METRIC.cacheEntries, help: 'Entries in the response cache.', registers, collect() { this.set(core.cache.stats().size); } });
    new Counter({ name: METRIC.coalescedGroups, help: 'In-flight jobs that gained at least one coalesced follower.', registers, collect() { setCounter(this, src.coalescedGroups()); } });
    new Counter({ name: METRIC.coalescedRequests, help: 'Requests served by following an identical in-flight job.', registers, collect() { setCounter(this, core.outcomes.byOutcome.coalesced); } });
    new Counter({ name: METRIC.coalescedTokensSaved, help: 'Completion tokens followers received without a worker generating them again.', registers, collect() { setCounter(this, core.outcomes.tokensSaved); } });
    new Counter({ name: METRIC.retries, help: 'Attempts retried after a worker error or timeout.', registers, collect() { setCounter(this, core.outcomes.retries); } });
    new Counter({ name: METRIC.rateLimited, help: 'Requests refused by the per-key rate limit.', registers, collect() { setCounter(this, core.outcomes.byCode.rate_limited ?? 0); } });
    new Gauge({ name: METRIC.activeRequests, help: 'Requests tracked by the gateway core, by phase.', labelNames: ['phase'], registers,
      collect() {
        this.reset();
        for (const [phase, n] of Object.entries(core.activeByPhase())) this.set({ phase }, n);
      },
    });
    new Gauge({ name: METRIC.breakerState, help: 'Circuit breaker state per worker: 0 closed, 1 half-open, 2 open.', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of core.workerInfo(src.nowMs())) this.set({ worker: w.id }, BREAKER_VALUE[w.breaker]);
      },
    });
    new Gauge({ name: METRIC.workerHealthy, help: 'Worker health from heartbeats: 1 healthy, 0 not.', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of core.workerInfo(src.nowMs())) this.set({ worker: w.id }, w.healthy ? 1 : 0);
      },
    });
    new Gauge({ name: METRIC.workerInFlight, help: 'Requests in flight per worker.', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of core.workerInfo(src.nowMs())) this.set({ worker: w.id }, w.inFlight);
      },
    });
    // The gateway's in-flight limit per worker now: min(admission.maxConcurrentPerWorker, the worker's
    // own limit, the adaptive limit when admission.adaptive is on). (Named here, not in metrics-names.ts,
    // to keep this change to one file of live/.)
    new Gauge({ name: METRIC.workerConcurrencyLimit, help: 'Requests the gateway keeps in flight on a worker at most, now (adaptive when admission.adaptive is enabled).', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of core.workerInfo(src.nowMs())) this.set({ worker: w.id }, w.maxConcurrent);
      },
    });
    new Gauge({ name: METRIC.workerKvUsedRatio, help: 'Runtime KV cache use per worker (used / capacity).', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const w of core.workerInfo(src.nowMs())) this.set({ worker: w.id }, w.kvUsedFraction);
      },
    });
    new Gauge({ name: METRIC.workerKvUsedBytes, help: 'Runtime KV cache bytes in use per worker.', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const l of src.links()) this.set({ worker: l.id }, l.kvUsedBytes);
      },
    });
    // memory.watermarkFraction as a series, so that an alert compares each worker's KV use with the
    // configured watermark rather than a number copied into the rule.
    const watermark = core.config.memory.watermarkFraction;
    new Gauge({ name: METRIC.kvWatermarkRatio, help: 'The configured KV watermark (memory.watermarkFraction): admission stops above it.', registers, collect() { this.set(watermark); } });
    const rolling = () => src.rolling?.();
    new Gauge({ name: METRIC.rollingRestartRunning, help: 'Whether a rolling restart is running: 1 running, 0 not.', registers, collect() { this.set(rolling()?.state === 'running' ? 1 : 0); } });
    new Gauge({ name: METRIC.rollingRestartStartedSeconds, help: 'Unix time the last rolling restart started (0: none since the gateway started).', registers,
      collect() { this.set((rolling()?.startedAtMs ?? 0) / 1000); },
    });
    // The scaling signal (core/scaling/desired-workers.ts; config core.scaling, off by default: no series).
    new Gauge({ name: METRIC.desiredWorkers, help: 'Workers each model needs now for its target (core scaling signal: arrival rate x service time over the slots per worker at the target utilisation, plus the backlog; scale-down stabilised).', labelNames: ['model'], registers,
      collect() {
        this.reset();
        for (const m of core.scalingSignal(src.nowMs())) this.set({ model: m.model }, m.desiredWorkers);
      },
    });
    // Versions and canaries (core/canary/; config core.canary.models, none by default: no series).
    new Gauge({ name: METRIC.canaryWeight, help: 'Current routing weight of each version of a canaried model (0: rolled back or retired).', labelNames: ['model', 'version', 'role'], registers,
      collect() {
        this.reset();
        for (const m of core.canaryStatus(src.nowMs())) for (const v of m.versions) this.set({ model: m.model, version: v.version, role: v.role }, v.weight);
      },
    });
    new Counter({ name: METRIC.canaryRollbacks, help: 'Canaries rolled back automatically (error rate or TTFT p95 beyond the margins against the stable version).', labelNames: ['model'], registers,
      collect() {
        this.reset();
        for (const m of core.canaryStatus(src.nowMs())) setCounter(this, m.rollbacks, { model: m.model });
      },
    });
    new Gauge({ name: METRIC.rollingRestartWorkersDone, help: 'Workers the current or last rolling restart has restarted.', registers, collect() { this.set(rolling()?.done.length ?? 0); } });
    new Counter({ name: METRIC.workerStreamReconnects, help: 'Session stream reconnects per worker.', labelNames: ['worker'], registers,
      collect() {
        this.reset();
        for (const l of src.links()) setCounter(this, l.reconnects, { worker: l.id });
      },
    });
  }
}
