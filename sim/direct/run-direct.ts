// A driver without the gateway core: requests go straight to the least-loaded worker (ties: lowest
// index). It exists for the benchmark, for end-to-end tests of engine + workers + workloads + metrics,
// and as the reference for wiring the gateway core (sim/cluster, by the lead), which replaces the
// placement below with the core's commands. Network delay (optional) applies gateway → worker on
// submit and worker → gateway on every worker event; crashes come from a fault plan.
import type { Rng } from '../../core/types.js';
import { EventLoop, Phase } from '../engine/loop.js';
import type { LatencyModel } from '../latency/latency-model.js';
import { SimMetrics, type SimSummary } from '../metrics/sim-metrics.js';
import { recordCompletion } from '../metrics/sink.js';
import { deriveRng, type Seed } from '../rng/rng.js';
import { slowdownsFor, validateFaultPlan, type FaultPlan } from '../worker/faults.js';
import { NetworkModel, type NetworkConfig } from '../worker/network.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SimSequence, type WorkerConfig } from '../worker/worker.js';
import type { ArrivalSource, SimRequest } from '../workload/types.js';

export interface DirectRunConfig {
  readonly seed: Seed;
  readonly workers: number;
  readonly latency: LatencyModel;
  readonly worker?: Partial<Omit<WorkerConfig, 'id' | 'index' | 'latency' | 'observer' | 'faultRng'>>;
  readonly workload: ArrivalSource;
  readonly faults?: FaultPlan;
  readonly network?: NetworkConfig;
  readonly maxSteps?: number;
  readonly metricsIntervalMs?: number;
  readonly timeSeries?: boolean;
}

export interface DirectRunResult {
  readonly summary: SimSummary;
  readonly steps: number;
  readonly endMs: number;
  readonly workers: readonly SimWorker[];
}

const ARRIVAL = 0;
const SUBMIT = 1;
const WAKE = 2;
const CRASH = 3;
const DELIVER = 4;

interface Delivery { kind: number; seq: SimSequence; arrivalMs: number }

export function runDirect(cfg: DirectRunConfig): DirectRunResult {
  if (!Number.isInteger(cfg.workers) || cfg.workers < 1) throw new Error(`runDirect: workers must be an integer >= 1, got ${cfg.workers}`);
  const faults = validateFaultPlan(cfg.faults ?? {}, cfg.workers);
  const metrics = new SimMetrics({ intervalMs: cfg.metricsIntervalMs ?? 10_000 });
  const net = cfg.network ? new NetworkModel(cfg.network, deriveRng(cfg.seed, 'network')) : undefined;
  const workers = Array.from({ length: cfg.workers }, (_, i) => {
    const faultRng: Rng | undefined = faults.errorProbability ? deriveRng(cfg.seed, `faults/w${i}`) : undefined;
    return new SimWorker({
      maxSequences: 16, maxQueuedSequences: 1024, ...cfg.worker,
      id: `w${i}`, index: i, latency: cfg.latency, observer: metrics,
      slowdowns: slowdownsFor(faults, i), errorProbability: faults.errorProbability ?? 0, ...(faultRng ? { faultRng } : {}),
    });
  });
  const arrivalOf = new Map<string, number>(); // requestId → gateway arrival; bounded by requests in flight
  const loop = new EventLoop({ seed: cfg.seed, maxSteps: cfg.maxSteps ?? 100_000_000 });
  const out = new WorkerOutput();

  const record = (kind: number, seq: SimSequence, nowMs: number): void => {
    const arrivalMs = arrivalOf.get(seq.requestId) ?? seq.submitMs;
    if (kind === WorkerEventKind.done) {
      arrivalOf.delete(seq.requestId);
      const delay = nowMs - seq.endMs;
      recordCompletion(metrics, { arrivalMs, firstTokenMs: seq.firstTokenMs + delay, endMs: nowMs, queueMs: seq.queueMs, prefillMs: seq.prefillMs, decodeMs: seq.decodeMs, outputTokens: seq.generated, promptTokens: seq.input.promptTokens, cachedPromptTokens: seq.cachedTokens }, nowMs);
    } else if (kind === WorkerEventKind.error) {
      arrivalOf.delete(seq.requestId);
      metrics.add('requests_failed', 1, nowMs);
    }
  };
  const flush = (w: SimWorker, wakeMs: number, nowMs: number): void => {
    for (let i = 0; i < out.count; i++) {
      if (net) loop.schedule(nowMs + net.delayMs(), DELIVER, 0, 0, { kind: out.kinds[i]!, seq: out.seqs[i]!, arrivalMs: 0 } satisfies Delivery);
      else record(out.kinds[i]!, out.seqs[i]!, nowMs);
    }
    out.reset();
    if (wakeMs !== NO_WAKE) loop.schedule(wakeMs, WAKE, w.index, w.wakeId);
  };
  const submit = (r: SimRequest, nowMs: number): void => {
    let best = workers[0]!;
    for (let i = 1; i < workers.length; i++) if (workers[i]!.load < best.load) best = workers[i]!;
    const q = r.request;
    flush(best, best.submit({ requestId: q.id, promptTokens: q.promptTokens, outputTokens: r.outputTokens, prefixBlocks: q.prefixBlocks, sessionId: q.sessionId, tag: r }, nowMs, out), nowMs);
  };

  loop.on(WAKE, Phase.workerStep, 'worker-wake', (e, sim) => {
    const w = workers[e.target]!;
    flush(w, w.onWake(sim.nowMs, e.num, out), sim.nowMs);
  });
  loop.on(CRASH, Phase.fault, 'worker-crash', (e, sim) => {
    const w = workers[e.target]!;
    metrics.add('worker_crashes', 1, sim.nowMs);
    flush(w, w.crash(sim.nowMs, e.num, out), sim.nowMs);
  });
  loop.on(DELIVER, Phase.network, 'deliver', (e, sim) => {
    const d = e.payload as Delivery;
    record(d.kind, d.seq, sim.nowMs);
  });
  loop.on(SUBMIT, Phase.network, 'submit', (e, sim) => submit(e.payload as SimRequest, sim.nowMs));
  loop.on(ARRIVAL, Phase.arrival, 'arrival', (e, sim) => {
    const r = e.payload as SimRequest;
    metrics.add('requests_arrived', 1, sim.nowMs);
    if (net) {
      arrivalOf.set(r.request.id, sim.nowMs);
      sim.schedule(sim.nowMs + net.delayMs(), SUBMIT, 0, 0, r);
    } else submit(r, sim.nowMs);
    const next = cfg.workload.next();
    if (next) sim.schedule(next.arrivalMs, ARRIVAL, 0, 0, next);
  });

  for (const c of faults.crashes ?? []) loop.schedule(c.atMs, CRASH, c.workerIndex, c.restartAfterMs);
  const first = cfg.workload.next();
  if (first) loop.schedule(first.arrivalMs, ARRIVAL, 0, 0, first);
  const run = loop.run();
  for (const w of workers) metrics.add('cold_starts', w.stats.coldStarts, run.endMs);
  const summary = metrics.summarize(run.endMs, workers.map((w) => ({ id: w.id, stats: w.stats })), { timeSeries: cfg.timeSeries ?? false });
  return { summary, steps: run.steps, endMs: run.endMs, workers };
}
