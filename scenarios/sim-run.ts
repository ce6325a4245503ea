// Runs a scenario in the simulator: baseline and candidate with the same seed and workload, then the
// sweep (if any), and turns each run into a RunSummary. Capacity questions go to capacity.ts.
import { STEADY_KEY, steadyOutputTokPerS, steadyWindow, tokenShares } from './steady.js';
import { resolveGatewayConfig } from '../core/config/validate.js';
import { arrivalsFor } from '../sim/cluster/arrivals.js';
import { runWindowMs, SimCluster, type ClusterMode } from '../sim/cluster/cluster.js';
import { createLatencyModel, type AnalyticLatencyModel, type LatencyModel } from '../sim/latency/latency-model.js';
import { GovernedAdmission, UngovernedAdmission } from '../sim/worker/governed-admission.js';
import { SimMetrics, type SimSummary } from '../sim/metrics/index.js';
import { GOODPUT_TPOT_MS } from '../sim/metrics/names.js';
import { getHardware, withMemoryGB } from '../sim/profiles/hardware.js';
import type { PolicySetDef, ScenarioDef, WorkloadDef } from './define.js';
import type { Curve, Percentiles, RunSummary } from '../reports/result.js';
import * as faultFigures from './fault-figures.js';
import * as scalingFigures from './scaling-figures.js';
import * as canaryFigures from './canary-figures.js';
import { DEFAULT_STEP_PLANNER } from '../core/scheduling/defaults.js';
import { MLX_LM_SERVER } from '../sim/worker/mlx-lm-server.js';
import { plannerPriorFrom } from '../sim/worker/planner-prior.js';
import type { AdmitGroupConfig } from '../core/scheduling/admit-group.js';
import { round3 } from '../reports/format.js';

export interface SimRunOutput {
  readonly summary: RunSummary;
  readonly raw: SimSummary;
  /** Curves of this run alone (the scaling signal over time), when the scenario asks for them. */
  readonly curves?: readonly Curve[];
}

export function latencyModelFor(def: ScenarioDef): AnalyticLatencyModel {
  const c = def.cluster;
  const hw = c.memoryGB === undefined ? getHardware(c.hardware) : withMemoryGB(getHardware(c.hardware), c.memoryGB);
  return createLatencyModel({ hardware: hw, model: c.model, quantization: c.quantization, ...(c.kvPrecision !== undefined && { kvPrecision: c.kvPrecision }) });
}

/**
 * Runs one policy set on the scenario's workload (optionally with another workload or worker count,
 * or — for sim-vs-live checks — a calibrated latency model and batch limit of the local machine).
 */
/**
 * For sim-vs-live: the loop the live runtime actually uses, where it differs from the scenario's sim
 * default (the step planner). The live baseline is mlx_lm.server with its defaults, as in sim.
 */
export interface LiveLoops {
  readonly candidateScheduler: 'planner' | 'batch-generator';
  /** The runtime's --context-buckets (MLX_RUNTIME_CONTEXT_BUCKETS; python/mlx_runtime/length_buckets.py); [] = one batch. */
  readonly contextBuckets?: readonly number[];
  /** The runtime's --admit-group (MLX_RUNTIME_ADMIT_GROUP; core/scheduling/admit-group.ts); absent = at once. */
  readonly admitGroup?: AdmitGroupConfig;
}

/**
 * python/mlx_runtime/engine_config.py EngineConfig defaults for its BatchGenerator loop. Its prompt cache keeps
 * the sessions the worker node's governor accounts for (`memory.idleSessionsMax`, passed as
 * --prompt-cache-entries): see workerLoop.
 */
const RUNTIME_BATCH_GENERATOR = { prefillStepTokens: 512, prefillBatchSize: 8 } as const;

export function runPolicySet(def: ScenarioDef, policy: PolicySetDef, seed: number, over: { workload?: WorkloadDef; workers?: number; latency?: LatencyModel; maxSequences?: number; liveLoops?: LiveLoops } = {}): SimRunOutput {
  const latency = over.latency ?? latencyModelFor(def);
  const workload = over.workload ?? def.workload;
  const workers = policy.kind === 'direct' ? 1 : (over.workers ?? policy.workers);
  const mode: ClusterMode = policy.kind === 'direct' ? { type: 'direct' } : { type: 'gateway', config: resolveGatewayConfig(policy.gateway) };
  // The direct engine admits whatever its batch allows (mlx_lm.server has no memory governor); the
  // gateway's workers admit through core's MemoryGovernor — for sim-vs-live with the padded cost of
  // mlx-lm's batch, as the live worker node does (core/memory/batch-layout.ts).
  const layout = over.liveLoops !== undefined ? 'padded' : 'packed';
  const memories = Array.from({ length: workers }, () =>
    mode.type === 'direct'
      ? new UngovernedAdmission(latency.kvCapacityBytes)
      : new GovernedAdmission(latency.kvCapacityBytes, latency.kvBytesPerToken, mode.config.memory.watermarkFraction, mode.config.memory.idleSessionsMax, layout),
  );
  const metrics = new SimMetrics({ intervalMs: Math.max(1000, Math.round(workload.durationMs / 60)) });
  const f = def.faults;
  const slowWindow = f?.slowdowns?.[0];
  const canary = policy.kind === 'gateway' ? def.canary : undefined;
  // Only scenarios that target or report scaling figures (catalog/scaling.ts) sample the signal.
  const scaling = mode.type === 'gateway' && mode.config.scaling.enabled && workload.type === 'open' && asksFor(def, 'extra.scaling') ? { config: mode.config.scaling, rate: workload.rate } : undefined;
  const cluster = new SimCluster(
    {
      mode,
      model: workload.model,
      seed,
      workers: Array.from({ length: workers }, (_, i) => ({
        id: `w${String(i).padStart(3, '0')}`,
        latency,
        ...workerLoop(def, policy, latency, over.maxSequences, over.liveLoops),
        // sim-vs-live: both sides run mlx-lm's BatchGenerator, whose decode reads every sequence padded to
        // its batch's longest (the runtime's context buckets, if set, are separate batches)
        ...(over.liveLoops !== undefined && { decodeLayout: { type: 'padded' as const, ...(policy.kind === 'gateway' && over.liveLoops.contextBuckets !== undefined && { contextBuckets: over.liveLoops.contextBuckets }) } }),
        ...(over.liveLoops?.admitGroup !== undefined && policy.kind === 'gateway' && { admitGroup: over.liveLoops.admitGroup }),
        maxQueuedSequences: 10_000,
        memory: memories[i]!,
        // mlx-serving's workers reserve prompt + max_tokens (as the live node does); the direct engine
        // reserves nothing, and its memory is the context its sequences reach.
        kvReservation: mode.type === 'direct' ? 'final-context' : 'max-tokens',
        startWarm: (policy.kind === 'gateway' ? policy.startWarm : undefined) ?? def.cluster.startWarm ?? true,
        ...(policy.kind === 'gateway' && policy.modelIdle !== undefined && { modelIdle: policy.modelIdle }),
        ...(f?.slowdowns !== undefined && { slowdowns: f.slowdowns.filter((s) => s.workerIndex === i) }),
        ...(f?.errorProbability !== undefined && { errorProbability: f.errorProbability }),
      })),
      ...(def.cluster.network !== undefined && { network: def.cluster.network }),
      ...(f?.crashes !== undefined && { crashes: f.crashes.filter((c) => c.workerIndex < workers) }),
      ...(f?.rollingRestart !== undefined && policy.kind === 'gateway' && { rollingRestart: { ...f.rollingRestart, drain: policy.drainOnRestart ?? true } }),
      ...(slowWindow !== undefined && { dispatchWindow: slowWindow }),
      ...(scaling !== undefined && { scalingSampleMs: scalingFigures.SCALING_SAMPLE_MS }),
      ...(policy.kind === 'gateway' && policy.requestTimeoutMs !== undefined && { requestTimeoutMs: policy.requestTimeoutMs }),
      ...(canary !== undefined && { workerModels: canary.workerVersions.map((v) => `${workload.model}@${v}`) }),
      ...(canary !== undefined && policy === def.candidate && { promotions: (canary.promotions ?? []).map((p) => ({ ...p, model: workload.model })) }),
    },
    arrivalsFor(workload, seed),
    metrics,
  );
  const r = cluster.run();
  const raw = metrics.summarize(runWindowMs(r), r.workers.map((w) => ({ id: w.id, stats: w.stats })), { timeSeries: true });
  const summary = toRunSummary(policy.name, workers, raw, metrics, r.unfinished);
  const served = cluster.firstRequestTtftMs.filter((t) => t >= 0);
  const finished = summary.succeeded + summary.failed + summary.rejected;
  let kvPeakFraction = 0;
  let evictions = 0;
  for (const m of memories) {
    if (m instanceof UngovernedAdmission) kvPeakFraction = Math.max(kvPeakFraction, m.peakBytes / m.capacityBytes);
    else {
      const g = m.governor.stats();
      kvPeakFraction = Math.max(kvPeakFraction, g.peakBytes / g.capacityBytes);
      evictions += g.evictions;
    }
  }
  const extra = {
    ...summary.extra,
    firstRequestTtftMaxMs: round3(served.length > 0 ? Math.max(...served) : 0),
    retryableSuccessRate: round3(finished - cluster.failedAfterTokens > 0 ? summary.succeeded / (finished - cluster.failedAfterTokens) : 1),
    failedAfterTokens: cluster.failedAfterTokens,
    retries: cluster.core?.outcomes.retries ?? 0,
    followUpCacheHitRate: round3(cluster.followUpsCompleted > 0 ? cluster.followUpCacheHits / cluster.followUpsCompleted : 0),
    kvPeakFraction: round3(kvPeakFraction),
    kvEvictions: evictions,
    outOfMemory: kvPeakFraction > 1 ? 1 : 0,
    ...(slowWindow !== undefined && faultFigures.slowWorker(cluster, slowWindow.workerIndex)),
    ...(cluster.rolling !== undefined && faultFigures.rolling(cluster.rolling.report())),
    ...(f?.crashes?.some((c) => c.runtime === true) === true && faultFigures.runtimeCrashes(r.workers)),
    ...(policy.kind === 'gateway' && policy.requestTimeoutMs !== undefined && faultFigures.deadlines(cluster, r.workers)),
    ...([def.baseline, def.candidate].some((p) => p?.kind === 'gateway' && p.modelIdle !== undefined) && faultFigures.modelIdle(r.workers)),
    // Only scenarios that target or report refusal figures (catalog/degradation.ts) get these keys.
    ...(asksFor(def, 'extra.refusal') && faultFigures.refusals(cluster, summary.failed)),
    ...(canary !== undefined && canaryFigures.figures(cluster.canary, canary, policy === def.candidate)),
    ...(scaling !== undefined && scalingFigures.figures(cluster.scalingSamples, scaling.rate, scaling.config)),
    ...(asksFor(def, `extra.${STEADY_KEY}`) && { [STEADY_KEY]: steadyOutputTokPerS(summary.timeline, ...steadyWindow(workload)) }),
    ...(asksFor(def, 'extra.tokenShare') && tokenShares(r.workers.map((w) => w.stats.outputTokens))),
    ...(asksFor(def, 'extra.lostRetryable') && { lostRetryable: finished - summary.succeeded - cluster.failedAfterTokens }),
    // Per tenant, for workloads whose requests name one (the fairness scenario): TTFT p50 / p95.
    ...Object.fromEntries([...cluster.tenantTtft].flatMap(([t, h]) => [[`ttftP50Ms.${t}`, round3(h.percentileMs(50))], [`ttftP95Ms.${t}`, round3(h.percentileMs(95))]])),
  };
  if (scaling === undefined) return { raw, summary: { ...summary, extra } };
  return { raw, summary: { ...summary, extra }, curves: [scalingFigures.curve(cluster.scalingSamples, scaling.rate, scaling.config)] };
}

/**
 * The worker's step loop: the direct engine is mlx_lm.server with its defaults (decode concurrency
 * 32, prefill chunks of 2048 for up to 8 prompts, a 10-entry prompt cache); mlx-serving's workers run
 * the step planner with its defaults (core/scheduling/defaults.ts). `maxSequences` (sim-vs-live with
 * a calibrated machine) overrides both batch limits.
 */
function workerLoop(def: ScenarioDef, policy: PolicySetDef, latency: LatencyModel, maxSequences: number | undefined, live: LiveLoops | undefined) {
  const cap = maxSequences ?? def.cluster.maxSequences;
  if (policy.kind === 'direct') {
    return {
      maxSequences: Math.min(cap, MLX_LM_SERVER.decodeConcurrency),
      prefillStepTokens: MLX_LM_SERVER.prefillStepTokens,
      prefillBatchSize: MLX_LM_SERVER.promptConcurrency,
      prefixCacheSessions: MLX_LM_SERVER.promptCacheEntries,
    };
  }
  if (live?.candidateScheduler === 'batch-generator') {
    const r = RUNTIME_BATCH_GENERATOR;
    const sessions = resolveGatewayConfig(policy.gateway).memory.idleSessionsMax;
    return { maxSequences: cap, prefillStepTokens: r.prefillStepTokens, prefillBatchSize: r.prefillBatchSize, prefixCacheSessions: sessions };
  }
  const planner = { ...DEFAULT_STEP_PLANNER, maxSequences: Math.min(cap, DEFAULT_STEP_PLANNER.maxSequences) };
  return { maxSequences: planner.maxSequences, planner: { config: planner, prior: plannerPriorFrom(latency) } };
}

export function toRunSummary(policy: string, workers: number, s: SimSummary, m: SimMetrics, unfinished: number): RunSummary {
  const pct = (name: 'ttft_ms' | 'itl_ms' | 'e2e_ms' | 'queue_wait_ms'): Percentiles => {
    const l = s.latencyMs[name];
    return { p50: l.p50, p95: l.p95, p99: l.p99, max: l.max, mean: l.mean };
  };
  const cdf = (name: 'ttft_ms' | 'itl_ms' | 'e2e_ms') => {
    const h = m.histogram(name);
    const pts: [number, number][] = [];
    if (h.count > 0) for (let p = 1; p <= 100; p++) pts.push([round3(h.percentileMs(p)), p / 100]);
    return pts;
  };
  const c = s.counters;
  const finished = s.requests.completed + s.requests.failed + s.requests.rejected + unfinished;
  const promptTokens = c.prompt_tokens;
  const extra: Record<string, number> = {
    dedupeHits: c.dedupe_hits,
    cacheHits: c.response_cache_hits,
    coalesced: c.coalesced_followers,
    tokensSaved: c.tokens_saved,
    prefixCacheHitRate: round3(s.requests.completed > 0 ? c.prefix_cache_hits / s.requests.completed : 0),
    promptTokensCachedFraction: round3(promptTokens > 0 ? c.prompt_tokens_cached / promptTokens : 0),
    retries: c.retries,
    workerCrashes: c.worker_crashes,
    goodputTokPerS: round3(c.goodput_output_tokens / (s.durationMs / 1000)),
    meanBatch: round3(s.workers.perWorker.reduce((a, w) => a + w.meanBatch, 0) / Math.max(1, s.workers.perWorker.length)),
    utilisation: s.workers.utilisation.mean,
    unfinished,
  };
  return {
    policy,
    workers,
    requests: s.requests.arrived,
    succeeded: s.requests.completed,
    failed: s.requests.failed + unfinished,
    rejected: s.requests.rejected,
    durationMs: s.durationMs,
    outputTokens: c.output_tokens,
    outputTokPerS: s.throughput.outputTokensPerSec,
    successRate: round3(finished > 0 ? s.requests.completed / finished : 1),
    ttftMs: pct('ttft_ms'),
    itlMs: pct('itl_ms'),
    e2eMs: pct('e2e_ms'),
    queueMs: pct('queue_wait_ms'),
    extra,
    cdf: { ttftMs: cdf('ttft_ms'), e2eMs: cdf('e2e_ms'), itlMs: cdf('itl_ms') },
    timeline: timeline(s),
  };
}

function timeline(s: SimSummary): RunSummary['timeline'] {
  const ts = s.timeSeries;
  if (ts === undefined) return [];
  const col = (name: string) => ts.columns.indexOf(name);
  const [iTok, iArr, iDone, iFail, iRej] = ['output_tokens', 'requests_arrived', 'requests_completed', 'requests_failed', 'requests_rejected'].map(col) as [number, number, number, number, number];
  let inFlight = 0;
  return ts.rows.map((row) => {
    inFlight += row[iArr]! - row[iDone]! - row[iFail]! - row[iRej]!;
    return { tMs: row[0]!, outputTokPerS: round3(row[iTok]! / (ts.intervalMs / 1000)), inFlight };
  });
}

/**
 * Runs the candidate for each sweep value; the baseline's value is drawn as its own series. A users
 * sweep also gives the goodput curve: output tok/s of requests within the latency bound
 * (GOODPUT_TPOT_MS), baseline and candidate side by side.
 */
export function runSweep(def: ScenarioDef, seed: number, onProgress: () => void): Curve[] {
  const sweep = def.sweep;
  if (sweep === undefined) return [];
  const points: { series: string; x: number; y: number }[] = [];
  const goodput: { series: string; x: number; y: number }[] = [];
  for (const v of sweep.values) {
    const over = sweep.over === 'workers' ? { workers: v } : { workload: withUsers(def.workload, v) };
    const cand = runPolicySet(def, def.candidate, seed, over).summary;
    points.push({ series: def.candidate.name, x: v, y: cand.outputTokPerS });
    if (sweep.over === 'users') {
      const base = runPolicySet(def, def.baseline, seed, over).summary;
      points.push({ series: def.baseline.name, x: v, y: base.outputTokPerS });
      goodput.push({ series: def.candidate.name, x: v, y: cand.extra.goodputTokPerS ?? 0 }, { series: def.baseline.name, x: v, y: base.extra.goodputTokPerS ?? 0 });
    }
    onProgress();
  }
  if (sweep.over === 'workers') return [{ name: 'scaling', xLabel: 'workers', yLabel: 'output tok/s', points }];
  return [
    { name: 'throughput-vs-concurrency', xLabel: 'concurrent users', yLabel: 'output tok/s', points },
    { name: `goodput-vs-concurrency (requests within ${GOODPUT_TPOT_MS} ms per output token)`, xLabel: 'concurrent users', yLabel: 'goodput, output tok/s', points: goodput },
  ];
}

function withUsers(w: WorkloadDef, users: number): WorkloadDef {
  if (w.type !== 'closed') throw new Error('a users sweep needs a closed-loop workload');
  return { ...w, users };
}


/** Whether a scenario targets or reports a metric starting with `prefix`. */
function asksFor(def: ScenarioDef, prefix: string): boolean {
  return def.targets.some((t) => t.metric.startsWith(prefix)) || (def.report ?? []).some((m) => m.startsWith(prefix));
}
