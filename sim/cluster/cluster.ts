/* eslint-disable max-lines -- the one driver of GatewayCore under virtual time: event delivery, command execution, both modes (gateway, direct) and the fault plans share its loop */
// Over 400 lines because it is the one driver of GatewayCore under virtual time: event delivery, command
// execution, both modes and the fault plans share its loop (arrivals.ts and the workers are split out).
// The simulated cluster: the driver that runs core's GatewayCore (the very code the live gateway runs)
// under virtual time against modelled Mac workers. Everything the gateway decides — caching, dedupe,
// coalescing, batching, routing, admission, retries, breaking — is decided by core; this file only
// delivers events and executes commands, as live/gateway/core-driver.ts does with real I/O.
//
// Two modes:
//   gateway — arrivals go through GatewayCore to N workers;
//   direct  — the baseline engine (what mlx_lm.server is): arrivals go straight to one worker's own
//             queue, with no gateway policy at all.
// Both pay the same one-way network latency each way, so the comparison is fair.
import { GatewayCore } from '../../core/gateway/gateway-core.js';
import type { Command, WorkerEvent as CoreWorkerEvent } from '../../core/gateway/messages.js';
import type { GatewayConfig } from '../../core/config/types.js';
import type { InferenceRequest, RequestId } from '../../core/types.js';
import type { ModelScaling } from '../../core/scaling/scaling-signal.js';
import { invariant } from '../../core/util/assert.js';
import { isClientFault } from '../../core/worker/errors.js';
import { EventLoop, type Scheduler } from '../engine/index.js';
import type { EventView } from '../engine/heap.js';
import { LatencyHistogram, recordCompletion, type MetricsSink } from '../metrics/index.js';
import { deriveRng, type Seed } from '../rng/index.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type SimSequence, type WorkerConfig } from '../worker/index.js';
import { NetworkModel, type NetworkConfig } from '../worker/network.js';
import type { CrashFault } from '../worker/faults.js';
import { ROLLING_POLL_MS, SimRollingRestart, type RollingHost, type RollingSpec } from './rolling.js';
import type { SimRequest } from '../workload/types.js';

/** Where arrivals come from: open loop (pull) or closed loop (users react to completions). */
export interface ArrivalDriver {
  /** Requests to schedule at the start. */
  start(nowMs: number): readonly SimRequest[];
  /** Called after a request was scheduled; returns the next open-loop arrival, if any. */
  next(): SimRequest | undefined;
  /** Called when a request ends (any outcome); returns a closed-loop user's next request, if any. */
  onFinished(requestId: RequestId, nowMs: number): SimRequest | undefined;
}

export type ClusterMode = { readonly type: 'direct' } | { readonly type: 'gateway'; readonly config: GatewayConfig };

export interface ClusterSpec {
  readonly mode: ClusterMode;
  /** The model every worker serves (the requests' `model`). */
  readonly model: string;
  /** One config per worker (ids, latency models, limits, faults). Direct mode uses the first. */
  readonly workers: readonly Omit<WorkerConfig, 'index' | 'observer' | 'faultRng'>[];
  readonly network?: NetworkConfig;
  readonly crashes?: readonly CrashFault[];
  /** Gateway mode: restart every worker, one at a time, under core's rolling-restart plan. */
  readonly rollingRestart?: RollingSpec;
  /** Count dispatches per worker in [startMs, endMs) (dispatchesInWindow). */
  readonly dispatchWindow?: { readonly startMs: number; readonly endMs: number };
  readonly seed: Seed;
  readonly maxSteps?: number;
  /** Stop after this virtual time even if work remains (requests still open count as unfinished). */
  readonly horizonMs?: number;
  /** Gateway mode with config.scaling on: sample core.scalingSignal every this many ms while there is work (scalingSamples). */
  readonly scalingSampleMs?: number;
  /**
   * Gateway mode: the live gateway's limits.requestTimeoutMs. Each request carries the deadline live's
   * gateway sets (its arrival + this; GenerateRequest.deadline_unix_ms) to every worker it is sent to,
   * whose deadline checks end it past then (core/worker/deadline.ts); and its client gives up at that
   * instant, as the live request timeout does (the core hears requestCancelled; the request fails).
   */
  readonly requestTimeoutMs?: number;
  /** Gateway mode: the model id each worker serves (index = worker), e.g. `llama@v2` for a canary version (core/canary/); default `model` for all. */
  readonly workerModels?: readonly string[];
  /** Gateway mode: admin calls promoting a version of a canaried model at these times. */
  readonly promotions?: readonly CanaryPromotion[];
}

export interface CanaryPromotion {
  readonly atMs: number;
  readonly model: string;
  readonly version: string;
}

/** What the canary figures are made of (spec.workerModels): rollbacks the core decided, and every dispatch's model id. */
export interface CanaryLog {
  readonly rollbacks: { readonly atMs: number; readonly model: string; readonly version: string; readonly reason: string }[];
  readonly dispatches: { readonly atMs: number; readonly model: string; readonly count: number }[];
}

/** One sample of the gateway core's scaling signal (core/scaling/). */
export interface ScalingSample {
  readonly tMs: number;
  readonly models: readonly ModelScaling[];
}

export interface ClusterRunResult {
  /** The last event's time (a gateway timer can fire after the last request is done). */
  readonly endMs: number;
  /** When the last request finished (completed, failed or rejected); 0 when none did. */
  readonly lastFinishMs: number;
  readonly steps: number;
  readonly unfinished: number;
  readonly workers: readonly SimWorker[];
  readonly core: GatewayCore | undefined;
}

/**
 * The run's length for rates (throughput, utilisation): until the last request finished, as the live
 * load generator measures it (live/load/generator.ts), not until the last event — a gateway timer (a
 * cache entry's expiry) can fire a minute after the workload is done, and only a gateway side has them.
 * A run cut with requests still open (a horizon) lasts until its last event.
 */
export function runWindowMs(r: Pick<ClusterRunResult, 'endMs' | 'lastFinishMs' | 'unfinished'>): number {
  return r.unfinished > 0 || r.lastFinishMs <= 0 ? r.endMs : r.lastFinishMs;
}

// Event kinds and their tie phases: at equal times, worker progress is seen before new arrivals, and
// the gateway's timers run last, so a batch window closing at T includes arrivals at T.
const K_WORKER_WAKE = 0;
const K_CRASH = 1;
/** K_CRASH payload of a runtime crash (faults.crashes[].runtime): the node stays up. */
const RUNTIME_CRASH = 'runtime';
const K_TO_WORKER = 2;
const K_TO_GATEWAY = 3;
const K_STATUS = 4;
const K_ARRIVAL = 5;
const K_GATEWAY_TIMER = 6;
const K_DIRECT_END = 7;
const K_ROLLING = 8;
const K_SCALING = 9;
const K_CLIENT_TIMEOUT = 10;
const K_CANCEL_TO_WORKER = 11;
const K_ADMIN = 12;
const K_MODEL_LOADED = 13;
/** Bound on scaling-signal samples in one run (scalingSampleMs). */
const SCALING_SAMPLES_MAX = 100_000;

const TOKENS_EVENT_EVERY = 0;

interface Open {
  readonly sim: SimRequest;
  /** A later turn of a session already seen: its prefix could be in a worker's prompt cache. */
  readonly followUp: boolean;
  firstTokenMs: number;
  /** The deadline its workers get (spec.requestTimeoutMs), or undefined for none. */
  readonly deadlineMs: number | undefined;
  /** Worker-side timing of the job that served it (leader's, for coalesced followers). */
  seq: SimSequence | undefined;
}

export class SimCluster {
  private readonly loop: EventLoop;
  readonly workers: SimWorker[];
  readonly core: GatewayCore | undefined;
  private readonly out = new WorkerOutput();
  private readonly open = new Map<RequestId, Open>();
  private readonly jobs = new Map<RequestId, SimSequence>();
  private readonly network: NetworkModel | undefined;
  /** Arrivals scheduled but not yet handled: the run has work while this or `open` is non-zero. */
  private pendingArrivals = 0;
  private statusScheduled = false;
  private readonly heartbeatMs: number;
  /** The gateway's refusals (reject commands): by status and code, with a Retry-After, and how long each request waited for it. */
  readonly refusals = { count: 0, status503: 0, status429: 0, withRetryAfter: 0, queueTimeouts: 0, queueFull: 0, waitMs: [] as number[] };
  /** Requests that failed after tokens had reached their client (not retryable by design). */
  failedAfterTokens = 0;
  /** Requests the gateway timed out at spec.requestTimeoutMs. */
  requestTimeouts = 0;
  /** Follow-up turns completed, and how many of them reused a cached prefix on their worker. */
  followUpsCompleted = 0;
  followUpCacheHits = 0;
  private readonly sessionsSeen = new Set<string>();
  /**
   * Worker events handled at once (no network model), and the sequence of each: a done event's
   * deliver command (always from that event's onWorkerEvent) finds its timing here, not in `jobs`.
   * Reused lists with a count (issue 21): no array per drain, and no `length` writes (a write of 0
   * drops the backing store). A drain does not nest: no command the core returns runs a worker.
   */
  private readonly pendingToGateway: CoreWorkerEvent[] = [];
  private readonly pendingSeqs: SimSequence[] = [];
  private pendingCount = 0;
  private drainingInline = false;
  /** The sequence of the worker event the core is handling inline (drainWorkerOutput). */
  private inlineSeq: SimSequence | undefined = undefined;
  /** TTFT of the first request each worker served (index = worker), −1 until known. */
  readonly firstRequestTtftMs: number[];
  /** TTFT of completed requests per tenant (requests with a tenant only: the fairness figures). */
  readonly tenantTtft = new Map<string, LatencyHistogram>();
  private readonly firstJobOfWorker: (RequestId | undefined)[];
  private readonly indexById: Map<string, number>;
  private readonly maxSequences: number[];
  /** Requests dispatched to each worker within spec.dispatchWindow (retries count again). */
  readonly dispatchesInWindow: number[];
  /** The rolling restart's driver (gateway mode with spec.rollingRestart). */
  readonly rolling: SimRollingRestart | undefined;
  private rollingTickId = 0;
  /** The scaling signal over the run (spec.scalingSampleMs). */
  readonly scalingSamples: ScalingSample[] = [];
  /** Workers told to drain: their statuses say so until they restart. */
  private readonly draining: boolean[];
  private readonly rollingHost: RollingHost;
  /** Some worker unloads its idle model (WorkerConfig.modelIdle). */
  private readonly modelIdle: boolean;
  /** Canary rollbacks and dispatches by model id (kept when spec.workerModels is set). */
  readonly canary: CanaryLog = { rollbacks: [], dispatches: [] };
  /** Models loaded at run time (the core's loadModel, config.catalog), per worker index: id → bytes. */
  private readonly loadedModels = new Map<number, Map<string, number>>();
  /** Per worker index, its process's generation: a load that ends after a crash or restart is void. */
  private readonly processEpoch = new Map<number, number>();
  /** Every loadModel the core asked for: when, where, what, and when it finished loading. */
  readonly modelLoads: { readonly atMs: number; readonly workerId: string; readonly model: string; readonly loadedAtMs: number }[] = [];

  constructor(
    private readonly spec: ClusterSpec,
    private readonly arrivals: ArrivalDriver,
    private readonly metrics: MetricsSink,
  ) {
    this.loop = new EventLoop({ seed: spec.seed, maxSteps: spec.maxSteps ?? 200_000_000 });
    const faultRng = deriveRng(spec.seed, 'cluster/faults');
    const configs = spec.mode.type === 'direct' ? spec.workers.slice(0, 1) : spec.workers;
    // Workers report the first token and the end of each sequence; the tokens in between matter to the
    // gateway core only as liveness, which heartbeats give it (the no-progress timeout counts from the
    // later of a request's progress and anything heard from its worker). TOKENS_EVENT_EVERY > 0 would
    // stream intermediate progress too, at the cost of events.
    this.workers = configs.map((c, index) => new SimWorker({ tokensEventEvery: TOKENS_EVENT_EVERY, ...c, index, observer: metrics, faultRng }));
    this.maxSequences = configs.map((c) => c.maxSequences);
    this.firstRequestTtftMs = configs.map(() => -1);
    this.firstJobOfWorker = configs.map(() => undefined);
    this.indexById = new Map(this.workers.map((w, i) => [w.id, i]));
    this.network = spec.network === undefined ? undefined : new NetworkModel(spec.network, deriveRng(spec.seed, 'cluster/network'));
    this.core = spec.mode.type === 'gateway' ? new GatewayCore(spec.mode.config, deriveRng(spec.seed, 'cluster/gateway')) : undefined;
    this.heartbeatMs = spec.mode.type === 'gateway' ? spec.mode.config.health.heartbeatIntervalMs : 0;
    this.dispatchesInWindow = configs.map(() => 0);
    this.draining = configs.map(() => false);
    this.rolling = spec.rollingRestart !== undefined && this.core !== undefined ? new SimRollingRestart(spec.rollingRestart, this.workers.map((w) => w.id)) : undefined;
    this.rollingHost = {
      workerInfo: (nowMs) => this.core!.workerInfo(nowMs),
      workerLoad: (id) => this.workers[this.workerIndex(id)]!.load,
      workerUp: (id) => {
        const w = this.workers[this.workerIndex(id)]!;
        return w.state !== 'down' && !w.restarting;
      },
      drain: (id, nowMs) => {
        this.draining[this.workerIndex(id)] = true;
        this.core!.drain(id, nowMs);
      },
      restart: (id, nowMs) => this.restartWorker(this.workerIndex(id), nowMs),
    };
    this.modelIdle = configs.some((c) => c.modelIdle !== undefined);
    this.register();
  }

  run(): ClusterRunResult {
    const loop = this.loop;
    if (this.core !== undefined) this.sendStatuses(0);
    for (const r of this.arrivals.start(0)) this.scheduleArrival(r);
    this.scheduleNextArrival();
    for (const c of this.spec.crashes ?? []) {
      if (this.workers[c.workerIndex] !== undefined) loop.schedule(c.atMs, K_CRASH, c.workerIndex, c.restartAfterMs, c.runtime === true ? RUNTIME_CRASH : undefined);
    }
    if (this.rolling !== undefined) this.scheduleRollingTick(this.rolling.spec.atMs);
    if (this.spec.scalingSampleMs !== undefined && this.core?.config.scaling.enabled === true) loop.schedule(0, K_SCALING);
    for (const p of this.spec.promotions ?? []) loop.schedule(p.atMs, K_ADMIN, 0, 0, p);
    this.ensureStatusTicks();
    const r = loop.run(this.spec.horizonMs ?? Infinity);
    return { endMs: r.endMs, lastFinishMs: this.lastFinishMs, steps: loop.steps, unfinished: this.open.size, workers: this.workers, core: this.core };
  }

  private register(): void {
    const loop = this.loop;
    loop.on(K_WORKER_WAKE, 0, 'worker-wake', (e, s) => this.onWorkerWake(e, s));
    loop.on(K_CRASH, 1, 'crash', (e, s) => this.onCrash(e, s));
    loop.on(K_TO_WORKER, 2, 'to-worker', (e, s) => this.onToWorker(e, s));
    loop.on(K_TO_GATEWAY, 3, 'to-gateway', (e, s) => this.exec(this.core!.onWorkerEvent(e.payload as CoreWorkerEvent, s.nowMs), s));
    loop.on(K_STATUS, 4, 'status', (_e, s) => this.onStatusTick(s));
    loop.on(K_ARRIVAL, 5, 'arrival', (e, s) => this.onArrival(e.payload as SimRequest, s));
    loop.on(K_GATEWAY_TIMER, 6, 'gateway-timer', (_e, s) => this.onGatewayTimer(s));
    // direct mode: the response reaches the client (num = output tokens, or −1 for an error)
    loop.on(K_DIRECT_END, 3, 'direct-end', (e, s) => this.finish(e.payload as RequestId, e.num >= 0, Math.max(0, e.num), s));
    loop.on(K_ROLLING, 1, 'rolling-restart', (e, s) => this.onRollingTick(e.num, s.nowMs));
    // last at its time: the signal sees every event of that instant
    loop.on(K_SCALING, 7, 'scaling-sample', (_e, s) => this.onScalingSample(s.nowMs));
    loop.on(K_CLIENT_TIMEOUT, 5, 'request-timeout', (e, s) => this.onRequestTimeout(e.payload as RequestId, s));
    loop.on(K_CANCEL_TO_WORKER, 2, 'cancel-to-worker', (e, s) => this.workers[e.target]!.cancel(e.payload as RequestId, s.nowMs));
    loop.on(K_MODEL_LOADED, 4, 'model-loaded', (e, s) => this.onModelLoaded(e.target, e.num, e.payload as { model: string; bytes: number }, s.nowMs));
    loop.on(K_ADMIN, 1, 'admin', (e) => {
      const p = e.payload as CanaryPromotion;
      const r = this.core!.promoteCanary(p.model, p.version);
      if (!r.ok) throw new Error(`promotion at ${p.atMs} ms: ${r.reason}`);
    });
  }

  // ─────────────── arrivals and endings ───────────────

  private scheduleArrival(r: SimRequest): void {
    this.pendingArrivals++;
    this.loop.schedule(Math.max(r.arrivalMs, this.loop.nowMs), K_ARRIVAL, 0, 0, r);
  }

  private onArrival(r: SimRequest, s: Scheduler): void {
    this.pendingArrivals--;
    this.metrics.add('requests_arrived', 1, s.nowMs);
    const sid = r.request.sessionId;
    const followUp = sid !== undefined && this.sessionsSeen.has(sid);
    if (sid !== undefined) this.sessionsSeen.add(sid);
    const timeoutMs = this.core === undefined ? undefined : this.spec.requestTimeoutMs;
    const deadlineMs = timeoutMs === undefined ? undefined : s.nowMs + timeoutMs;
    this.open.set(r.request.id, { sim: r, firstTokenMs: -1, seq: undefined, followUp, deadlineMs });
    if (deadlineMs !== undefined) this.loop.schedule(deadlineMs, K_CLIENT_TIMEOUT, 0, 0, r.request.id);
    if (r.arrivalMs === this.pendingArrivalMs) this.scheduleNextArrival();
    if (this.core !== undefined) this.exec(this.core.onRequestArrived(r.request, s.nowMs), s);
    else this.sendToWorker(0, [r.request], s);
  }

  /**
   * The gateway's request timeout (live's sink): the core hears requestCancelled and fails the
   * request. Its cancel reaches the worker one network delay later, as over gRPC; the worker's own
   * deadline check (at its next step start, or at submit) may end the job first.
   */
  private onRequestTimeout(requestId: RequestId, s: Scheduler): void {
    if (!this.open.has(requestId)) return;
    this.requestTimeouts++;
    const cmds = this.core!.onRequestCancelled(requestId, s.nowMs);
    for (const c of cmds) {
      if (c.type !== 'cancel' || this.network === undefined) continue;
      this.jobs.delete(c.requestId);
      this.loop.schedule(s.nowMs + this.network.delayMs(), K_CANCEL_TO_WORKER, this.workerIndex(c.workerId), 0, c.requestId);
    }
    this.exec(this.network === undefined ? cmds : cmds.filter((c) => c.type !== 'cancel'), s);
  }

  /** Gateway wake-ups owed per instant (scheduleGatewayTimer): one heap event per instant. */
  private readonly gatewayWakesOwed = new Map<number, number>();
  private pendingArrivalMs = -1;
  private scheduleNextArrival(): void {
    const next = this.arrivals.next();
    if (next === undefined) {
      this.pendingArrivalMs = -1;
      return;
    }
    this.pendingArrivalMs = next.arrivalMs;
    this.scheduleArrival(next);
  }

  private lastFinishMs = 0;
  private finish(requestId: RequestId, ok: boolean, outputTokens: number, s: Scheduler, rejected = false): void {
    const o = this.open.get(requestId);
    if (o === undefined) return;
    this.open.delete(requestId);
    const now = s.nowMs;
    this.lastFinishMs = now;
    if (ok) {
      const seq = o.seq;
      if (o.followUp) {
        this.followUpsCompleted++;
        if ((seq?.cachedTokens ?? 0) > 0) this.followUpCacheHits++;
      }
      const tenant = o.sim.request.tenant;
      if (tenant !== undefined) {
        let h = this.tenantTtft.get(tenant);
        if (h === undefined) this.tenantTtft.set(tenant, (h = new LatencyHistogram()));
        h.record((o.firstTokenMs >= 0 ? o.firstTokenMs : now) - o.sim.arrivalMs);
      }
      recordCompletion(this.metrics, {
        arrivalMs: o.sim.arrivalMs,
        firstTokenMs: o.firstTokenMs >= 0 ? o.firstTokenMs : now,
        endMs: now,
        queueMs: seq?.queueMs ?? 0,
        prefillMs: seq?.prefillMs ?? 0,
        decodeMs: seq?.decodeMs ?? 0,
        outputTokens,
        promptTokens: o.sim.request.promptTokens,
        cachedPromptTokens: seq?.cachedTokens ?? 0,
      }, now);
    } else {
      this.metrics.add(rejected ? 'requests_rejected' : 'requests_failed', 1, now);
    }
    const next = this.arrivals.onFinished(requestId, now);
    if (next !== undefined) {
      this.scheduleArrival(next);
      this.ensureStatusTicks();
    }
    // A worker with modelIdle checks its idle model forever: the run ends with its last request.
    if (this.modelIdle && this.pendingArrivals === 0 && this.open.size === 0 && this.rolling?.active !== true) this.loop.stop();
  }

  // ─────────────── the gateway core's commands ───────────────

  private exec(cmds: readonly Command[], s: Scheduler): void {
    const now = s.nowMs;
    for (const c of cmds) {
      switch (c.type) {
        case 'dispatch': {
          const index = this.workerIndex(c.workerId);
          const win = this.spec.dispatchWindow;
          if (win !== undefined && now >= win.startMs && now < win.endMs) this.dispatchesInWindow[index]! += c.requests.length;
          if (this.spec.workerModels !== undefined) this.canary.dispatches.push({ atMs: now, model: c.requests[0]!.model, count: c.requests.length });
          this.sendToWorker(index, c.requests, s);
          break;
        }
        case 'loadModel': {
          // The worker reads the catalogued size at its load bandwidth (its latency model's cold start, scaled to the bytes).
          const index = this.workerIndex(c.workerId);
          const lat = this.spec.workers[index]!.latency;
          const loadMs = lat.modelBytes > 0 ? (lat.coldStartMs() * c.bytes) / lat.modelBytes : 0;
          this.modelLoads.push({ atMs: now, workerId: c.workerId, model: c.model, loadedAtMs: now + loadMs });
          this.loop.schedule(now + loadMs, K_MODEL_LOADED, index, this.processEpoch.get(index) ?? 0, { model: c.model, bytes: c.bytes });
          break;
        }
        case 'canaryRolledBack':
          this.canary.rollbacks.push({ atMs: now, model: c.model, version: c.version, reason: c.reason });
          break;
        case 'cancel':
          this.workers[this.workerIndex(c.workerId)]?.cancel(c.requestId, now);
          this.jobs.delete(c.requestId);
          break;
        case 'deliver':
          if (c.event.kind === 'tokens') for (const id of c.recipients) this.markFirstToken(id, now);
          if (c.event.kind === 'done') {
            const seq = this.network === undefined ? this.inlineSeq : this.jobs.get(c.jobId);
            invariant(this.network !== undefined || seq?.requestId === c.jobId, 'an inline done is delivered while its event is handled');
            for (const id of c.recipients) {
              const o = this.open.get(id);
              if (o !== undefined) o.seq = seq;
            }
            if (this.network !== undefined) this.jobs.delete(c.jobId);
          }
          break;
        case 'attachFollower': {
          // The driver replays what the leader produced so far: a follower that attaches after the
          // leader's first token receives it now.
          const leader = this.open.get(c.leaderId);
          if (leader !== undefined && leader.firstTokenMs >= 0) this.markFirstToken(c.followerId, now);
          this.metrics.add('coalesced_followers', 1, now);
          break;
        }
        case 'detachFollower':
          break;
        case 'serveFromCache':
          this.metrics.add(c.source === 'dedupe' ? 'dedupe_hits' : 'response_cache_hits', 1, now);
          this.finish(c.requestId, true, c.answer.completionTokens, s);
          break;
        case 'complete':
          if (c.via === 'coalesced') this.metrics.add('tokens_saved', c.usage.completionTokens, now);
          this.finish(c.requestId, true, c.usage.completionTokens, s);
          break;
        case 'reject': {
          const r = this.refusals;
          const o = this.open.get(c.requestId);
          r.count++;
          if (c.status === 503) r.status503++;
          if (c.status === 429) r.status429++;
          if (c.retryAfterMs !== undefined) r.withRetryAfter++;
          if (c.code === 'queue_timeout') r.queueTimeouts++;
          if (c.code === 'queue_full') r.queueFull++;
          if (o !== undefined) r.waitMs.push(now - o.sim.arrivalMs);
          this.finish(c.requestId, false, 0, s, true);
          break;
        }
        case 'fail':
          if (c.tokensSent > 0) this.failedAfterTokens++;
          this.finish(c.requestId, false, 0, s);
          break;
        case 'wakeAt':
          this.scheduleGatewayTimer(Math.max(c.atMs, now));
          break;
      }
    }
  }

  /**
   * The core's wake-ups. It asks again for a time it asked for before (its timer record is spent when
   * an earlier wake-up comes), so hundreds of wake-ups for one or two instants were pending at once:
   * 350 of 453 pending events in the bench (issue 21). They all still run, one core.onTimer per
   * wake-up asked for, but the heap holds one event per instant. It carries the count and pushes
   * itself back while more are owed. That is the same order: gateway timers are the only events of
   * their phase, so at one instant nothing else runs between two of them, and what runs before them
   * (lower phases) still does. The number of events handled is the same too.
   */
  private scheduleGatewayTimer(atMs: number): void {
    const owed = this.gatewayWakesOwed.get(atMs);
    if (owed !== undefined) {
      this.gatewayWakesOwed.set(atMs, owed + 1);
      return;
    }
    this.gatewayWakesOwed.set(atMs, 1);
    this.loop.schedule(atMs, K_GATEWAY_TIMER);
  }

  private onGatewayTimer(s: Scheduler): void {
    const at = s.nowMs;
    const owed = this.gatewayWakesOwed.get(at) ?? 1;
    if (owed > 1) {
      this.gatewayWakesOwed.set(at, owed - 1);
      this.loop.schedule(at, K_GATEWAY_TIMER);
    } else this.gatewayWakesOwed.delete(at);
    this.exec(this.core!.onTimer(at), s);
  }

  private markFirstToken(requestId: RequestId, nowMs: number): void {
    const o = this.open.get(requestId);
    if (o !== undefined && o.firstTokenMs < 0) o.firstTokenMs = nowMs;
  }

  // ─────────────── workers ───────────────

  private sendToWorker(index: number, requests: readonly InferenceRequest[], s: Scheduler): void {
    const delay = this.network?.delayMs() ?? 0;
    this.loop.schedule(s.nowMs + delay, K_TO_WORKER, index, 0, requests);
  }

  private onToWorker(e: Readonly<EventView>, s: Scheduler): void {
    const w = this.workers[e.target]!;
    for (const req of e.payload as readonly InferenceRequest[]) {
      if (this.firstJobOfWorker[e.target] === undefined) this.firstJobOfWorker[e.target] = req.id;
      const o = this.open.get(req.id);
      const truth = o?.sim.outputTokens ?? req.sampling.maxTokens;
      // The optional fields are set one by one, in the order the spreads used to add them: an object
      // spread is a runtime call per field (CopyDataProperties), and this runs once per dispatch (issue 21).
      const input: { -readonly [K in keyof SequenceInput]: SequenceInput[K] } = { requestId: req.id, promptTokens: Math.max(1, req.promptTokens), outputTokens: Math.max(1, Math.min(truth, req.sampling.maxTokens)), maxTokens: Math.max(1, req.sampling.maxTokens), prefixBlocks: req.prefixBlocks };
      if (req.sessionId !== undefined) input.sessionId = req.sessionId;
      if (req.sampling.responseFormat !== undefined) input.constrained = true;
      if (req.sampling.temperature > 0) input.sampled = true;
      if (o?.deadlineMs !== undefined) input.deadlineMs = o.deadlineMs;
      const wake = w.submit(input, s.nowMs, this.out);
      this.scheduleWake(w, wake);
      this.drainWorkerOutput(w, s);
    }
  }

  private onWorkerWake(e: Readonly<EventView>, s: Scheduler): void {
    const w = this.workers[e.target]!;
    const wasRestarting = w.restarting;
    const wasDown = w.state === 'down';
    const wake = w.onWake(s.nowMs, e.num, this.out);
    this.scheduleWake(w, wake);
    this.drainWorkerOutput(w, s);
    if (wasRestarting) this.onRestartProgress(w, wasDown, s.nowMs);
  }

  private onCrash(e: Readonly<EventView>, s: Scheduler): void {
    const w = this.workers[e.target]!;
    if (e.payload === RUNTIME_CRASH) this.scheduleWake(w, w.crashRuntime(s.nowMs, e.num, this.out));
    else {
      this.metrics.add('worker_crashes', 1, s.nowMs);
      this.forgetLoadedModels(e.target); // a new process holds only its own model
      this.scheduleWake(w, w.crash(s.nowMs, e.num, this.out));
    }
    this.drainWorkerOutput(w, s);
  }

  private scheduleWake(w: SimWorker, atMs: number): void {
    if (atMs !== NO_WAKE) this.loop.schedule(atMs, K_WORKER_WAKE, w.index, w.wakeId);
  }

  /** Turns the worker's events into gateway events (after network latency), or direct-mode endings. */
  private drainWorkerOutput(w: SimWorker, s: Scheduler): void {
    const out = this.out;
    for (let i = 0; i < out.count; i++) {
      const kind = out.kinds[i]!;
      const seq = out.seqs[i]!;
      const requestId = seq.requestId;
      if (kind === WorkerEventKind.firstToken && this.firstJobOfWorker[w.index] === requestId) {
        const o = this.open.get(requestId);
        if (o !== undefined) this.firstRequestTtftMs[w.index] = s.nowMs - o.sim.arrivalMs;
      }
      if (this.core === undefined) {
        this.directEvent(kind, seq, out.codes[i], s);
        continue;
      }
      let ev: CoreWorkerEvent | undefined;
      if (kind === WorkerEventKind.firstToken) ev = { kind: 'tokens', workerId: w.id, requestId, tokens: 1 };
      else if (kind === WorkerEventKind.tokens) ev = { kind: 'tokens', workerId: w.id, requestId, tokens: TOKENS_EVENT_EVERY };
      else if (kind === WorkerEventKind.done) {
        if (this.network !== undefined) this.jobs.set(requestId, seq);
        ev = { kind: 'done', workerId: w.id, requestId, output: { promptTokens: seq.input.promptTokens, completionTokens: seq.generated, finishReason: 'length' } };
      } else if (kind === WorkerEventKind.error) {
        const code = out.codes[i] ?? 'worker_error';
        ev = { kind: 'error', workerId: w.id, requestId, failure: { code, message: code, clientFault: isClientFault(code) } };
      }
      if (ev === undefined) continue;
      // Without a network model the event reaches the gateway at once; handling it inline saves a
      // heap round trip and keeps the same order (the loop would run it next at the same time).
      if (this.network === undefined) {
        this.pendingToGateway[this.pendingCount] = ev;
        this.pendingSeqs[this.pendingCount++] = seq;
      } else this.loop.schedule(s.nowMs + this.network.delayMs(), K_TO_GATEWAY, 0, 0, ev);
    }
    out.reset();
    const n = this.pendingCount;
    if (n > 0) {
      invariant(!this.drainingInline, 'drainWorkerOutput does not nest');
      this.drainingInline = true;
      this.pendingCount = 0;
      const evs = this.pendingToGateway;
      const seqs = this.pendingSeqs;
      for (let i = 0; i < n; i++) {
        this.inlineSeq = seqs[i];
        this.exec(this.core!.onWorkerEvent(evs[i]!, s.nowMs), s);
      }
      this.inlineSeq = undefined;
      this.drainingInline = false;
    }
  }

  private directEvent(kind: WorkerEventKind, seq: SimSequence, _code: string | undefined, s: Scheduler): void {
    const at = s.nowMs + (this.network?.delayMs() ?? 0);
    const o = this.open.get(seq.requestId);
    if (o === undefined) return;
    if (kind === WorkerEventKind.firstToken) o.firstTokenMs = at;
    else if (kind === WorkerEventKind.done) {
      o.seq = seq;
      this.loop.schedule(at, K_DIRECT_END, 0, seq.generated, seq.requestId);
    } else if (kind === WorkerEventKind.error) this.loop.schedule(at, K_DIRECT_END, 0, -1, seq.requestId);
  }

  // ─────────────── rolling restart ───────────────

  private scheduleRollingTick(atMs: number): void {
    this.loop.schedule(atMs, K_ROLLING, 0, ++this.rollingTickId);
  }

  private onRollingTick(tickId: number, nowMs: number): void {
    if (tickId !== this.rollingTickId) return; // superseded by an earlier step
    if (this.rolling!.tick(nowMs, this.rollingHost)) this.scheduleRollingTick(nowMs + ROLLING_POLL_MS);
    this.ensureStatusTicks();
  }

  /** The plan's restart: the process stops (a drained worker holds nothing) and comes back cold. */
  private restartWorker(index: number, nowMs: number): void {
    const w = this.workers[index]!;
    this.draining[index] = false; // the new process is not draining
    this.forgetLoadedModels(index); // nor holds the models loaded at run time
    this.scheduleWake(w, w.restart(nowMs, this.rolling!.spec.processRestartMs, this.out));
    this.drainWorkerOutput(w, this.loop);
  }

  /** A restarted worker's process is back (it loads the model), or it has loaded: it registers at once. */
  private onRestartProgress(w: SimWorker, wasDown: boolean, nowMs: number): void {
    if (wasDown && w.state !== 'down') this.rolling?.restarted(w.id, nowMs);
    if (w.restarting) return;
    this.sendStatus(w, nowMs);
    if (this.rolling?.active === true) this.scheduleRollingTick(nowMs);
  }

  private onScalingSample(nowMs: number): void {
    invariant(this.scalingSamples.length < SCALING_SAMPLES_MAX, `scaling samples exceed ${SCALING_SAMPLES_MAX}: raise scalingSampleMs`);
    this.scalingSamples.push({ tMs: nowMs, models: this.core!.scalingSignal(nowMs) });
    if (this.pendingArrivals > 0 || this.open.size > 0) this.loop.schedule(nowMs + this.spec.scalingSampleMs!, K_SCALING);
  }

  // ─────────────── heartbeats ───────────────

  private ensureStatusTicks(): void {
    if (this.core === undefined || this.statusScheduled) return;
    this.statusScheduled = true;
    this.loop.schedule(this.loop.nowMs + this.heartbeatMs, K_STATUS);
  }

  private onStatusTick(s: Scheduler): void {
    this.statusScheduled = false;
    this.sendStatuses(s.nowMs);
    // Keep heartbeating only while there is work, so the run ends when the workload does.
    if (this.pendingArrivals > 0 || this.open.size > 0 || this.rolling?.active === true) this.ensureStatusTicks();
  }

  private sendStatuses(nowMs: number): void {
    for (const w of this.workers) this.sendStatus(w, nowMs);
  }

  private sendStatus(w: SimWorker, nowMs: number): void {
    const v = w.view();
    // A dead process does not heartbeat; a restarted one registers once its model is loaded.
    if (v.state === 'down' || w.restarting) return;
    const own = this.spec.workerModels?.[w.index] ?? this.spec.model;
    const loaded = this.loadedModels.get(w.index);
    // Free memory as the sim sees it: the KV room left, less the models loaded at run time (model placement reads it).
    let loadedBytes = 0;
    for (const b of loaded?.values() ?? []) loadedBytes += b;
    const status = {
      workerId: w.id, models: loaded === undefined ? [own] : [own, ...loaded.keys()], maxConcurrent: this.maxSequences[w.index]!, healthy: true, draining: this.draining[w.index]!,
      kvUsedBytes: v.kvUsedBytes, kvCapacityBytes: v.kvCapacityBytes, memoryFreeBytes: Math.max(0, v.kvCapacityBytes - v.kvUsedBytes - loadedBytes),
      // Its own model unloaded (idle unload, or not loaded yet): served after a load; routing prefers warm workers.
      ...(v.state === 'cold' && { coldModels: [own] }),
    };
    this.exec(this.core!.onWorkerStatus(status, nowMs), this.loop);
  }

  /** A run-time load finished: the worker holds the model and says so at once (its status). */
  private onModelLoaded(index: number, epoch: number, m: { model: string; bytes: number }, nowMs: number): void {
    if (epoch !== (this.processEpoch.get(index) ?? 0)) return; // its process died meanwhile: the core's queue timeout ends the wait
    let loaded = this.loadedModels.get(index);
    if (loaded === undefined) this.loadedModels.set(index, (loaded = new Map()));
    loaded.set(m.model, m.bytes);
    this.sendStatus(this.workers[index]!, nowMs);
  }

  private forgetLoadedModels(index: number): void {
    this.loadedModels.delete(index);
    this.processEpoch.set(index, (this.processEpoch.get(index) ?? 0) + 1);
  }

  private workerIndex(id: string): number {
    const i = this.indexById.get(id);
    if (i === undefined) throw new Error(`unknown worker ${id}`);
    return i;
  }
}
