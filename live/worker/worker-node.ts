/* eslint-disable max-lines -- admission, runtime-pool control, idle unload and drain share the job table (the KV wait is kv-wait.ts); the decisions they apply are core/worker/'s, the request mapping generate-mapping.ts */
// Over 400 lines because admission, runtime-pool control, idle unload and drain share one job table; the
// decisions are core/worker/'s and the pieces that stand alone are split out (kv-wait.ts, generate-mapping.ts, model-dir.ts).
// The worker node: admission, KV governance, warmup and the request lifecycle, over the pools of
// python runtimes. It speaks proto messages (GenerateRequest in, GenerateEvent out) but knows nothing
// of gRPC; worker-server.ts maps calls and streams onto it.
//
// One request, from arrival to its one terminal event:
//   1. refused at once (an Error event) when the node is draining, the request is malformed, the model
//      is not loaded, maxConcurrent sequences run or wait, or its deadline has passed. Core's
//      MemoryGovernor reserves KV for prompt + max_tokens (core/worker/kv-reservation.ts, the decision
//      the simulator's worker makes too; the prompt estimated by core's one rule, UTF-8 bytes / 3,
//      high for BPE tokenizers, so it errs on the safe side);
//      when it cannot now, the request waits in the node, first come first served, until running
//      requests free the KV (kvWaitMs at most, or its deadline; kvWaitingMax waiters): a busy node
//      delays it instead of failing it. It is refused with `kv_capacity` at once only when it would
//      not fit even in an empty node, the KV wait queue is full, or kvWaitMs is 0;
//   2. run on the alive runtime of its model with the fewest requests, or wait (bounded by
//      waitingMax and runtimeWaitMs) for one to come up or free;
//   3. tokens are forwarded as they come; the runtime's final result becomes Done;
//   4. if the runtime dies before the request sent a token, the request ends with `runtime_lost`
//      (retryHere when another runtime of its model is alive here): the gateway core decides the
//      retry (its budget, this worker's breaker, this worker again when retryHere); after a token it
//      is a `runtime_crashed` Error (core/worker/runtime-lost.ts decides, as for the simulator's worker);
//   5. a cancel (Cancel message, cancelled call) or the deadline (core/worker/deadline.ts) sends the
//      runtime `cancel`.
// Runtime JSON-RPC errors are mapped by errors.ts (client_fault for -32602 invalid params).
//
// Idle unload, reload on demand, pre-warm (issue 8):
//   - every idleCheckMs, core's MemoryGovernor names the models with no running sequence whose last
//     use (admission, end of a request) is idleUnloadMs old; each one's runtimes are stopped (the
//     whole pool: a runtime serves one model, so stopping it is what frees the memory). The model
//     stays configured: Models reports it `loaded: false`, Stats keeps it in `models` (so gateways
//     keep routing it here) but its runtimes no longer count in runtimesAlive/runtimesTotal;
//   - a Generate for such a model starts its pool again (one load shared by all requests that wait)
//     and is then admitted as usual; it waits at most reloadWaitMs (or its deadline) for the load,
//     then ends with `runtime_unavailable` (or `deadline_exceeded`); a failed load ends it with the
//     load's error. A new runtime is warmed (warmupGenerate) before it takes the request;
//   - pre-warm: a model that got at least prewarm.minRequests requests within the last
//     prewarm.windowMs is "hot": when it turns idle it is kept loaded (re-registered with the governor)
//     and one of its runtimes gets a warmup generate, every idleUnloadMs while it stays hot.
//   An admin UnloadModel forgets the model entirely (governor.forgetModel): it no longer reloads.
import { resolve } from 'node:path';
import {
  admitWithinLimits, deadlineDelayMs, deadlinePassed, estimatePromptTokens, HotModels, idleModelAction, kvReserveTokens, MemoryGovernor, modelUnhealthy, onKvShortfall, onRuntimeLost,
  waitWithinDeadline, waitWithinLimits,
} from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type {
  DoneMsg, EmbedRequestMsg, EmbedResponseMsg, GenerateEventIn, GenerateRequestMsg, HealthResponseMsg, ModelInfoMsg, WorkerStatusMsg,
} from '../shared/proto.js';
import { hostKvFallbackBytes, type ModelSpec, type WorkerNodeConfig } from './config.js';
import { toWorkerError, WorkerError } from './errors.js';
import { candidateMsg, runtimeParams, validate } from './generate-mapping.js';
import { KvWaitQueue, type JobHandle } from './kv-wait.js';
import { fingerprintModelDir } from './model-dir.js';
import { RuntimeGoneError, type GenerateParams, type GenerateResult, type TokensNotification } from './runtime-client.js';
import { RuntimePool, type RuntimeSlot } from './runtime-pool.js';
import { warmupGenerate, WarmupScheduler } from './warmup.js';

export type EventSink = (ev: GenerateEventIn) => void;

export type { JobHandle } from './kv-wait.js';

export interface WorkerLogger {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
}

export interface ModelEntry {
  readonly id: string;
  readonly path: string;
  /** Content fingerprint of the model directory (config.json bytes, weight files' sizes and mtimes). */
  readonly version: string;
  readonly bytes: number;
  readonly pool: RuntimePool;
  kvBytesPerToken: number;
}

/** A configured model whose runtimes were stopped for idleness: it reloads on its next request. */
interface IdleModel {
  readonly spec: ModelSpec;
  readonly version: string;
  readonly bytes: number;
}

export interface ModelLifecycleCounters {
  /** Models unloaded for idleness. */
  idleUnloads: number;
  /** Reloads started by a request for an idle-unloaded model. */
  reloads: number;
  /** Idle models kept loaded (and warmed) because they are hot. */
  prewarms: number;
  prewarmFailures: number;
}

export interface WorkerCounters {
  requests: number;
  completed: number;
  failed: number;
  cancelled: number;
  refused: number;
  /** Requests whose runtime was lost before their first token, ended with runtime_lost (the gateway retries them). */
  runtimeLost: number;
  deadlineExceeded: number;
  /** Requests that waited for KV (kvWaitMs), and of those, the ones admitted in the end. */
  kvWaits: number;
  kvWaitAdmitted: number;
}

interface Job {
  readonly key: string;
  readonly req: GenerateRequestMsg;
  readonly sink: EventSink;
  readonly model: ModelEntry;
  readonly params: Omit<GenerateParams, 'request_id'>;
  readonly sessionKey: string | undefined;
  readonly arrivedAtMs: number;
  state: 'waiting' | 'running' | 'ended';
  slot: RuntimeSlot | undefined;
  runtimeRequestId: string | undefined;
  tokensSent: number;
  startedAtMs: number;
  deadlineTimer: NodeJS.Timeout | undefined;
  waitTimer: NodeJS.Timeout | undefined;
  unsubscribe: (() => void) | undefined;
}

/** setTimeout's largest delay (2^31 − 1 ms); later deadlines are not armed. */
const TIMER_MS_MAX = 2_147_483_647;

export class WorkerNode {
  readonly models = new Map<string, ModelEntry>();
  readonly governor: MemoryGovernor;
  /**
   * Where the governor's capacity came from: 'configured' (kvCapacityBytes), 'runtime:<source>' (the
   * smallest budget the runtimes reported, e.g. runtime:gpu:total_memory) or 'host-fallback' (a
   * quarter of the host's RAM, until a runtime reports).
   */
  kvCapacitySource: string;
  /** The governor's parameters: the governor reads kvCapacityBytes from here at every call, so adopting a runtime's budget is one assignment. */
  private readonly governorParams: { kvCapacityBytes: number; watermarkFraction: number; idleSessionsMax: number; modelsMax: number; idleUnloadMs: number; batchLayout: 'padded' };
  readonly warmup: WarmupScheduler;
  readonly counters: WorkerCounters = { requests: 0, completed: 0, failed: 0, cancelled: 0, refused: 0, runtimeLost: 0, deadlineExceeded: 0, kvWaits: 0, kvWaitAdmitted: 0 };
  private readonly jobs = new Map<string, Job>();
  /** Requests waiting for KV, in arrival order (kv-wait.ts). */
  private readonly kvWait: KvWaitQueue;
  private readonly drainWaiters = new Set<() => void>();
  readonly lifecycle: ModelLifecycleCounters = { idleUnloads: 0, reloads: 0, prewarms: 0, prewarmFailures: 0 };
  private readonly idleUnloaded = new Map<string, IdleModel>();
  private readonly loading = new Map<string, Promise<ModelEntry>>();
  private readonly unloading = new Map<string, Promise<void>>();
  /** Per model, its recent requests: hot models are kept loaded (core/worker/model-lifecycle.ts). */
  private readonly hot: HotModels;
  private idleTimer: NodeJS.Timeout | undefined;
  /** Called after a model was loaded or unloaded (the registry re-announces the worker's models). */
  onModelsChanged: (() => void) | undefined;
  private waitingCount = 0;
  private seq = 0;
  private draining = false;
  private stopped = false;

  constructor(
    readonly cfg: WorkerNodeConfig,
    private readonly clock: Clock,
    private readonly log: WorkerLogger,
  ) {
    // The governor counts bytes (kvBytesPerToken = 1): models on one node differ in bytes per token.
    this.governorParams = {
      kvCapacityBytes: cfg.kvCapacityBytes ?? hostKvFallbackBytes(), watermarkFraction: cfg.watermarkFraction, idleSessionsMax: cfg.idleSessionsMax,
      modelsMax: cfg.modelsMax, idleUnloadMs: cfg.idleUnloadMs > 0 ? cfg.idleUnloadMs : Number.POSITIVE_INFINITY,
      // The runtimes batch with mlx-lm's padded BatchKVCache (core/memory/batch-layout.ts), as the
      // runtime's own admission counts it (python/mlx_runtime/kv_accounting.py).
      batchLayout: 'padded',
    };
    this.kvCapacitySource = cfg.kvCapacityBytes !== undefined ? 'configured' : 'host-fallback';
    this.governor = new MemoryGovernor(this.governorParams, 1);
    this.kvWait = new KvWaitQueue({
      governor: this.governor, kvWaitMs: cfg.kvWaitMs, kvCapacityBytes: () => this.kvCapacityBytes, nowMs: () => clock.nowMs(), wallMs: () => clock.wallMs(),
      counters: this.counters, onLeft: () => this.notifyDrained(),
    });
    this.hot = new HotModels(cfg.prewarm);
    this.warmup = new WarmupScheduler(cfg.maxConcurrent, cfg.warmup, clock, {
      idle: () => this.jobs.size === 0 && !this.draining,
      idlestRuntime: () => this.idlestRuntime(),
    });
  }

  /** Loads the start-up models (in parallel) and starts idle warmup and the idle-unload check. */
  async start(): Promise<void> {
    await Promise.all(this.cfg.models.map((m) => this.loadModel(m)));
    this.warmup.start();
    if (this.cfg.idleUnloadMs > 0 && this.idleTimer === undefined) {
      this.idleTimer = setInterval(() => this.idleTick(), this.cfg.idleCheckMs);
      this.idleTimer.unref();
    }
  }

  /** The node's KV capacity now (the governor's). */
  get kvCapacityBytes(): number {
    return this.governorParams.kvCapacityBytes;
  }

  /**
   * kvCapacityBytes not configured: govern with the smallest KV budget the alive runtimes reported
   * (all runtimes of a node share its device, so the node must not hand out more than the most
   * cautious one sized for itself). Called when a runtime comes up and after a load or unload.
   */
  private adoptRuntimeKvBudget(): void {
    if (this.cfg.kvCapacityBytes !== undefined) return;
    let best: { bytes: number; source: string } | undefined;
    for (const m of this.models.values()) {
      const r = m.pool.reportedMaxKvBytes();
      if (r !== undefined && (best === undefined || r.bytes < best.bytes)) best = r;
    }
    if (best === undefined) return;
    const source = `runtime:${best.source}`;
    if (best.bytes === this.governorParams.kvCapacityBytes && source === this.kvCapacitySource) return;
    const previous = { bytes: this.governorParams.kvCapacityBytes, source: this.kvCapacitySource };
    this.governorParams.kvCapacityBytes = best.bytes;
    this.kvCapacitySource = source;
    if (!this.stopped) this.kvWait.admitAll();
    this.log.info({ worker: this.cfg.id, kvCapacityBytes: best.bytes, source, previousBytes: previous.bytes, previousSource: previous.source },
      `KV capacity ${(best.bytes / 2 ** 30).toFixed(2)} GiB adopted from the runtimes' budget (${best.source})`);
  }

  get isDraining(): boolean {
    return this.draining;
  }

  get inFlight(): number {
    return this.jobs.size + this.kvWait.size;
  }

  /** Requests waiting for KV now. */
  get kvWaiting(): number {
    return this.kvWait.size;
  }

  // ───────────────────────────── generate ─────────────────────────────

  /** Admits (or refuses, with an Error event on `sink`) one request. */
  submit(req: GenerateRequestMsg, sink: EventSink): JobHandle {
    this.counters.requests++;
    const refused = (e: WorkerError): JobHandle => {
      this.counters.refused++;
      sink({ requestId: req.requestId, error: e.toEvent() });
      return { cancel: () => undefined };
    };
    if (this.draining || this.stopped) return refused(new WorkerError('draining'));
    const bad = validate(req);
    if (bad !== undefined) return refused(new WorkerError('invalid_request', bad));
    const model = this.models.get(req.model);
    if (model === undefined) {
      if (!this.idleUnloaded.has(req.model) && !this.loading.has(req.model)) return refused(new WorkerError('model_not_loaded', `model ${JSON.stringify(req.model)} is not loaded on worker ${this.cfg.id}`));
      this.noteRequest(req.model);
      return this.submitAfterLoad(req, sink, refused);
    }
    this.noteRequest(model.id);
    return this.admit(req, sink, model, refused);
  }

  /** A request for a model that is (re)loading: it waits for the load (bounded), then is admitted. */
  private submitAfterLoad(req: GenerateRequestMsg, sink: EventSink, refused: (e: WorkerError) => JobHandle): JobHandle {
    let settled = false;
    let cancelled = false;
    let inner: JobHandle | undefined;
    const fail = (e: WorkerError) => {
      this.counters.failed++;
      sink({ requestId: req.requestId, error: e.toEvent() });
    };
    const { waitMs, byDeadline } = waitWithinDeadline(this.cfg.reloadWaitMs, req.deadlineUnixMs, this.clock.wallMs());
    const onTimeout = byDeadline
      ? () => {
        this.counters.deadlineExceeded++;
        fail(new WorkerError('deadline_exceeded', `request ${req.requestId} passed its deadline while ${req.model} reloaded`));
      }
      : () => fail(new WorkerError('runtime_unavailable', `model ${req.model} did not reload within ${this.cfg.reloadWaitMs} ms`));
    const timer = setTimeout(() => {
      if (settled) return;
      settled = true;
      onTimeout();
    }, waitMs);
    this.ensureLoaded(req.model).then((entry) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!cancelled) inner = this.admit(req, sink, entry, refused);
    }, (err: unknown) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (!cancelled) fail(toWorkerError(err));
    });
    return {
      cancel: () => {
        if (inner !== undefined) inner.cancel();
        else if (!settled) {
          settled = true;
          cancelled = true;
          clearTimeout(timer);
          this.counters.cancelled++;
        }
      },
    };
  }

  private admit(req: GenerateRequestMsg, sink: EventSink, model: ModelEntry, refused: (e: WorkerError) => JobHandle): JobHandle {
    if (this.draining || this.stopped) return refused(new WorkerError('draining'));
    const limit = admitWithinLimits(this.jobs.size + this.kvWait.size, this.cfg);
    if (limit.kind === 'refuse') return refused(new WorkerError(limit.code, `${limit.reason}: ${this.jobs.size} running, ${this.kvWait.size} waiting for KV`));
    if (deadlinePassed(req.deadlineUnixMs, this.clock.wallMs())) return refused(new WorkerError('deadline_exceeded'));

    const key = `j${(this.seq++).toString(36)}`;
    const params = runtimeParams(req, this.cfg.defaultMaxTokens);
    const sessionKey = req.sessionId.length > 0 ? `${model.id}\u0000${req.sessionId}` : undefined;
    const nowMs = this.clock.nowMs();
    const promptTokens = estimatePromptTokens(req.prompt, req.messages.map((m) => m.content));
    const kvBytes = kvReserveTokens(promptTokens, params.max_tokens ?? this.cfg.defaultMaxTokens) * Math.max(1, model.kvBytesPerToken);
    // FIFO: a newcomer does not overtake requests already waiting for KV.
    const admission = this.kvWait.size > 0 ? undefined : this.governor.admit(key, sessionKey, kvBytes, nowMs, model.id);
    if (admission === undefined || !admission.ok) {
      const free = admission === undefined ? this.governor.freeBytes() : admission.freeBytes;
      const why = `request needs ~${kvBytes} KV bytes; ${Math.max(0, free)} of ${this.kvCapacityBytes} free`;
      const shortfall = onKvShortfall({
        aloneBytes: this.governor.aloneBytes(kvBytes), capacityBytes: this.kvCapacityBytes, kvWaitMs: this.cfg.kvWaitMs, waiting: this.kvWait.size, waitingMax: this.cfg.kvWaitingMax,
      });
      if (shortfall.kind === 'refuse') return refused(new WorkerError(shortfall.code, `${why}: ${shortfall.reason}`));
      return this.kvWait.wait({ key, req, modelId: model.id, sessionKey, kvBytes, refused, start: (reused) => this.startJob(key, req, sink, model, params, sessionKey, nowMs, reused) });
    }
    return this.startJob(key, req, sink, model, params, sessionKey, nowMs, admission.reusedTokens);
  }

  private startJob(key: string, req: GenerateRequestMsg, sink: EventSink, model: ModelEntry, params: Omit<GenerateParams, 'request_id'>,
    sessionKey: string | undefined, arrivedAtMs: number, reusedTokens: number): JobHandle {
    if (reusedTokens === 0) this.warmup.onNewSession();
    const nowMs = this.clock.nowMs();
    const job: Job = {
      key, req, sink, model, params, sessionKey, arrivedAtMs, state: 'waiting', slot: undefined, runtimeRequestId: undefined,
      tokensSent: 0, startedAtMs: nowMs, deadlineTimer: undefined, waitTimer: undefined, unsubscribe: undefined,
    };
    this.jobs.set(key, job);
    const delayMs = deadlineDelayMs(req.deadlineUnixMs, this.clock.wallMs());
    if (delayMs !== undefined && delayMs < TIMER_MS_MAX) job.deadlineTimer = setTimeout(() => this.onDeadline(job), delayMs);
    this.run(job);
    return { cancel: () => this.cancel(job) };
  }

  private run(job: Job): void {
    if (job.state === 'ended') return;
    const slot = job.model.pool.pick(this.cfg.runtimeMaxSequences);
    if (slot === undefined || slot.proc === undefined) {
      this.wait(job);
      return;
    }
    this.leaveWaiting(job);
    if (job.state === 'waiting') job.startedAtMs = this.clock.nowMs();
    job.state = 'running';
    job.slot = slot;
    slot.inFlight++;
    slot.lastUsedMs = this.clock.nowMs();
    const rid = job.key;
    job.runtimeRequestId = rid;
    const call = slot.proc.client.generate({ ...job.params, request_id: rid }, (t) => this.onTokens(job, rid, t));
    call.result.then((r) => this.onResult(job, rid, r), (err: unknown) => this.onFailure(job, rid, err));
  }

  private leaveWaiting(job: Job): void {
    if (job.waitTimer !== undefined) {
      clearTimeout(job.waitTimer);
      job.waitTimer = undefined;
      this.waitingCount--;
    }
    job.unsubscribe?.();
    job.unsubscribe = undefined;
  }

  private wait(job: Job): void {
    job.state = 'waiting';
    if (job.waitTimer === undefined) {
      const limit = waitWithinLimits(this.waitingCount, this.cfg);
      if (limit.kind === 'refuse') return this.end(job, new WorkerError(limit.code, `${limit.reason} for a runtime`));
      this.waitingCount++;
      job.waitTimer = setTimeout(() => this.end(job, new WorkerError('runtime_unavailable', `no runtime of ${job.model.id} was free within ${this.cfg.runtimeWaitMs} ms`)), this.cfg.runtimeWaitMs);
    }
    job.unsubscribe?.();
    job.unsubscribe = job.model.pool.onceAvailable(() => {
      job.unsubscribe = undefined;
      this.run(job);
    });
  }

  private current(job: Job, rid: string): boolean {
    return job.state === 'running' && job.runtimeRequestId === rid;
  }

  private onTokens(job: Job, rid: string, t: TokensNotification): void {
    if (!this.current(job, rid)) return;
    if (t.text.length === 0 && t.token_ids.length === 0) return;
    job.tokensSent += Math.max(1, t.token_ids.length);
    const logprobs = (t.logprobs ?? []).map((lp) => ({ ...candidateMsg(lp), topLogprobs: lp.top_logprobs.map(candidateMsg) }));
    job.sink({ requestId: job.req.requestId, tokens: { text: t.text, tokenIds: [...t.token_ids], count: t.token_ids.length, logprobs } });
  }

  private onResult(job: Job, rid: string, r: GenerateResult): void {
    if (!this.current(job, rid)) return;
    if (r.finish_reason === 'cancelled') {
      // Not our cancel (that ends the job first): the runtime is shutting down under us.
      this.onRuntimeLost(job, new WorkerError('cancelled', 'the runtime cancelled the request (it is shutting down)'));
      return;
    }
    const queueMs = job.startedAtMs - job.arrivedAtMs + r.timings.queue_ms;
    const done: DoneMsg = {
      finishReason: r.finish_reason, promptTokens: r.usage.prompt_tokens, completionTokens: r.usage.completion_tokens, cachedPromptTokens: r.usage.cached_tokens,
      queueMs, prefillMs: r.timings.prefill_ms, decodeMs: r.timings.decode_ms, stopSequence: r.stop_sequence ?? '',
    };
    this.counters.completed++;
    const contextBytes = (r.usage.prompt_tokens + r.usage.completion_tokens) * job.model.kvBytesPerToken;
    this.end(job, undefined, { done }, contextBytes);
  }

  private onFailure(job: Job, rid: string, err: unknown): void {
    if (!this.current(job, rid)) return;
    const e = toWorkerError(err);
    if (err instanceof RuntimeGoneError) this.onRuntimeLost(job, e);
    else this.end(job, e);
  }

  /** The runtime went away under a running request: runtime_lost before its first token (core/worker/runtime-lost.ts), else the loss's error. */
  private onRuntimeLost(job: Job, e: WorkerError): void {
    const lostSlot = job.slot;
    const otherRuntimesAlive = job.model.pool.slots.filter((s) => s !== lostSlot && s.state === 'alive').length;
    const d = onRuntimeLost({ tokensSent: job.tokensSent, otherRuntimesAlive, stopping: this.stopped || this.draining });
    if (d.kind === 'fail') {
      this.end(job, e);
      return;
    }
    this.counters.runtimeLost++;
    this.log.warn({ worker: this.cfg.id, requestId: job.req.requestId, retryHere: d.retryHere, reason: e.message }, 'runtime lost a request before its first token: the gateway retries it');
    this.end(job, new WorkerError(d.code, `${e.message} (before the first token: nothing was sent)`, { cause: e, retryHere: d.retryHere }));
  }

  private cancel(job: Job): void {
    if (job.state === 'ended') return;
    this.cancelOnRuntime(job);
    this.counters.cancelled++;
    this.end(job);
  }

  private onDeadline(job: Job): void {
    job.deadlineTimer = undefined;
    if (job.state === 'ended') return;
    this.cancelOnRuntime(job);
    this.counters.deadlineExceeded++;
    this.end(job, new WorkerError('deadline_exceeded', `request ${job.req.requestId} passed its deadline`));
  }

  private cancelOnRuntime(job: Job): void {
    if (job.state === 'running' && job.runtimeRequestId !== undefined) job.slot?.proc?.client.notify('cancel', { request_id: job.runtimeRequestId });
  }

  private detach(job: Job): void {
    const slot = job.slot;
    if (slot === undefined) return;
    job.slot = undefined;
    slot.inFlight--;
    job.model.pool.notifyAvailable();
  }

  /** The one way a job ends: an Error event, a Done event, or nothing (cancelled). */
  private end(job: Job, error?: WorkerError, done?: { done: DoneMsg }, contextBytes = 0): void {
    if (job.state === 'ended') return;
    this.leaveWaiting(job);
    if (job.deadlineTimer !== undefined) clearTimeout(job.deadlineTimer);
    job.state = 'ended';
    this.detach(job);
    this.jobs.delete(job.key);
    if (done !== undefined) this.governor.release(job.key, contextBytes);
    else this.governor.abort(job.key);
    // The end of a request is a use: idleness counts from here, not from its admission.
    if (this.models.get(job.model.id) === job.model) this.governor.useModel(job.model.id, this.clock.nowMs());
    if (error !== undefined) {
      this.counters.failed++;
      job.sink({ requestId: job.req.requestId, error: error.toEvent() });
    } else if (done !== undefined) {
      job.sink({ requestId: job.req.requestId, ...done });
    }
    if (!this.stopped) this.kvWait.admitAll();
    this.notifyDrained();
  }

  private notifyDrained(): void {
    if (this.jobs.size === 0 && this.kvWait.size === 0) for (const w of [...this.drainWaiters]) w();
  }

  // ───────────────────────────── models ─────────────────────────────

  /** Loads a model (a pool of runtimes); resolves once one runtime is up. Concurrent loads of one model share one load. */
  loadModel(given: Omit<ModelSpec, 'runtimes'> & { runtimes?: number }): Promise<ModelEntry> {
    const pending = this.loading.get(given.id);
    if (pending !== undefined) {
      return pending.then((e) => {
        if (e.path !== resolve(given.path)) throw new WorkerError('invalid_request', `model ${given.id} is already loaded from ${e.path}`);
        return e;
      });
    }
    const p = this.doLoadModel(given).finally(() => this.loading.delete(given.id));
    this.loading.set(given.id, p);
    return p;
  }

  /** An idle-unloaded model's pool, started again (shared by every request waiting for it). */
  private ensureLoaded(id: string): Promise<ModelEntry> {
    const entry = this.models.get(id);
    if (entry !== undefined) return Promise.resolve(entry);
    const pending = this.loading.get(id);
    if (pending !== undefined) return pending;
    const idle = this.idleUnloaded.get(id);
    if (idle === undefined) return Promise.reject(new WorkerError('model_not_loaded', `model ${JSON.stringify(id)} is not loaded on worker ${this.cfg.id}`));
    this.lifecycle.reloads++;
    this.log.info({ worker: this.cfg.id, model: id }, 'reloading an idle-unloaded model on demand');
    return this.loadModel(idle.spec);
  }

  private async doLoadModel(given: Omit<ModelSpec, 'runtimes'> & { runtimes?: number }): Promise<ModelEntry> {
    const spec = { ...given, path: resolve(given.path) }; // runtimes run in python/: paths must be absolute
    await this.unloading.get(spec.id); // an idle unload of this model still stopping its runtimes
    if (this.stopped) throw new WorkerError('draining', 'the worker is shutting down');
    const existing = this.models.get(spec.id);
    if (existing !== undefined) {
      if (existing.path === spec.path) return existing;
      throw new WorkerError('invalid_request', `model ${spec.id} is already loaded from ${existing.path}`);
    }
    let version: string;
    let bytes: number;
    try {
      ({ version, bytes } = fingerprintModelDir(spec.path));
    } catch (err) {
      throw new WorkerError('invalid_request', `no model directory at ${spec.path}: ${(err as Error).message}`);
    }
    const use = this.governor.useModel(spec.id, this.clock.nowMs());
    if (use === undefined) throw new WorkerError('overloaded', `${this.cfg.modelsMax} models are loaded and busy (modelsMax)`);
    for (const victim of use.unload) if (this.models.has(victim)) await this.unloadModel(victim);
    const pool = new RuntimePool(spec.id, {
      modelPath: spec.path, modelId: spec.id, pythonPath: this.cfg.pythonPath, maxSequences: this.cfg.runtimeMaxSequences,
      // The runtime keeps as many idle sessions as the governor accounts for (both bounded by KV bytes).
      promptCacheEntries: this.cfg.idleSessionsMax,
      ...(this.cfg.kvCapacityBytes !== undefined && { maxKvBytes: this.cfg.kvCapacityBytes }), readyTimeoutMs: this.cfg.readyTimeoutMs,
      onLog: (line) => {
        if (/error|Traceback|exception/i.test(line)) this.log.warn({ worker: this.cfg.id, model: spec.id, line }, 'runtime log');
      },
    }, { size: spec.runtimes ?? 1, restartBaseMs: this.cfg.restart.baseMs, restartMaxMs: this.cfg.restart.maxMs, stableAfterMs: this.cfg.restart.stableAfterMs }, this.clock, {
      ...(this.cfg.warmup.onStart && { prepare: (client) => warmupGenerate(client, spec.id, this.cfg.warmup.requestTimeoutMs) }),
      log: (level, obj, msg) => this.log[level]({ worker: this.cfg.id, ...obj }, msg),
      onSlotUp: () => this.adoptRuntimeKvBudget(),
    });
    const entry: ModelEntry = { id: spec.id, path: spec.path, version, bytes, pool, kvBytesPerToken: 1 };
    this.models.set(spec.id, entry);
    try {
      await pool.start();
      if (this.stopped) throw new Error('the worker is shutting down');
    } catch (err) {
      if (this.models.get(spec.id) === entry) this.models.delete(spec.id);
      if (!this.idleUnloaded.has(spec.id)) this.governor.forgetModel(spec.id);
      await pool.stop();
      throw new WorkerError('internal_error', (err as Error).message, { cause: err });
    }
    this.idleUnloaded.delete(spec.id);
    this.governor.useModel(spec.id, this.clock.nowMs()); // loading took time: idleness counts from now
    entry.kvBytesPerToken = pool.info?.kv_bytes_per_token ?? 1;
    this.adoptRuntimeKvBudget();
    this.onModelsChanged?.();
    return entry;
  }

  /** Unloads a model for good (admin): its running requests end with `model_not_loaded`, its runtimes stop, it no longer reloads. */
  async unloadModel(id: string): Promise<boolean> {
    const wasIdle = this.idleUnloaded.delete(id);
    const entry = this.models.get(id);
    this.governor.forgetModel(id);
    this.hot.forget(id);
    if (entry === undefined) {
      if (wasIdle) this.onModelsChanged?.();
      return wasIdle;
    }
    this.models.delete(id);
    this.kvWait.refuseWhere((w) => w.modelId === id, () => new WorkerError('model_not_loaded', `model ${id} was unloaded`));
    for (const job of [...this.jobs.values()]) {
      if (job.model !== entry) continue;
      this.cancelOnRuntime(job);
      this.end(job, new WorkerError('model_not_loaded', `model ${id} was unloaded`));
    }
    await entry.pool.stop();
    this.adoptRuntimeKvBudget();
    this.onModelsChanged?.();
    return true;
  }

  modelInfos(): ModelInfoMsg[] {
    return [
      ...[...this.models.values()].map((m) => ({ id: m.id, path: m.path, version: m.version, bytes: m.bytes, loaded: m.pool.aliveCount() > 0 })),
      ...[...this.idleUnloaded.values()].filter((m) => !this.models.has(m.spec.id)).map((m) => ({ id: m.spec.id, path: m.spec.path, version: m.version, bytes: m.bytes, loaded: false })),
    ];
  }

  /** Configured models whose runtimes were stopped for idleness (they reload on demand). */
  idleUnloadedModels(): string[] {
    return [...this.idleUnloaded.keys()].filter((id) => !this.models.has(id));
  }

  /** One idle check: unload the models idle for idleUnloadMs, except hot ones (kept loaded and warmed). */
  idleTick(): void {
    if (this.stopped) return;
    const nowMs = this.clock.nowMs();
    for (const id of this.governor.idleModels(nowMs)) {
      const entry = this.models.get(id);
      if (entry === undefined) continue;
      const busy = this.loading.has(id) || [...this.jobs.values()].some((j) => j.model === entry) || this.kvWait.holds(id);
      const action = idleModelAction(busy, this.isHot(id, nowMs));
      if (action !== 'unload') {
        this.governor.useModel(id, nowMs);
        if (action === 'prewarm') this.prewarm(entry);
        continue;
      }
      this.unloadIdle(entry).catch((err: unknown) => this.log.warn({ worker: this.cfg.id, model: id, err: (err as Error).message }, 'idle unload failed'));
    }
  }

  private async unloadIdle(entry: ModelEntry): Promise<void> {
    const id = entry.id;
    this.models.delete(id);
    this.idleUnloaded.set(id, { spec: { id, path: entry.path, runtimes: entry.pool.slots.length }, version: entry.version, bytes: entry.bytes });
    this.lifecycle.idleUnloads++;
    this.log.info({ worker: this.cfg.id, model: id, idleUnloadMs: this.cfg.idleUnloadMs }, 'model idle: unloading (it reloads on its next request)');
    const stopped = entry.pool.stop().finally(() => this.unloading.delete(id));
    this.unloading.set(id, stopped);
    await stopped;
    this.onModelsChanged?.();
  }

  private noteRequest(id: string): void {
    this.hot.note(id, this.clock.nowMs());
  }

  /** At least prewarm.minRequests requests within the last prewarm.windowMs. */
  isHot(id: string, nowMs: number): boolean {
    return this.hot.isHot(id, nowMs);
  }

  private prewarm(entry: ModelEntry): void {
    const slot = entry.pool.pick(1);
    if (slot?.proc === undefined) return;
    slot.lastUsedMs = this.clock.nowMs();
    this.lifecycle.prewarms++;
    warmupGenerate(slot.proc.client, entry.id, this.cfg.warmup.requestTimeoutMs).catch(() => {
      this.lifecycle.prewarmFailures++;
    });
  }

  // ───────────────────────────── embed ─────────────────────────────

  async embed(req: EmbedRequestMsg): Promise<EmbedResponseMsg> {
    if (this.draining || this.stopped) throw new WorkerError('draining');
    const model = this.models.get(req.model);
    if (model === undefined) throw new WorkerError('model_not_loaded', `model ${JSON.stringify(req.model)} is not loaded on worker ${this.cfg.id}`);
    if (req.input.length === 0 || req.input.some((s) => s.length === 0)) throw new WorkerError('invalid_request', 'input must be a non-empty list of non-empty strings');
    const slot = model.pool.pick(Number.POSITIVE_INFINITY);
    if (slot?.proc === undefined) throw new WorkerError('runtime_unavailable', `no runtime of ${model.id} is up`);
    try {
      const r = await slot.proc.client.call('embed', { model: model.id, input: req.input }, { timeoutMs: this.cfg.runtimeCallTimeoutMs });
      return { data: r.embeddings.map((v) => ({ values: [...v] })), promptTokens: r.usage.prompt_tokens };
    } catch (err) {
      throw toWorkerError(err);
    }
  }

  // ───────────────────────────── status ─────────────────────────────

  status(): WorkerStatusMsg {
    let alive = 0;
    let total = 0;
    for (const m of this.models.values()) {
      alive += m.pool.aliveCount();
      total += m.pool.slots.length;
    }
    return {
      workerId: this.cfg.id, models: [...this.models.keys(), ...this.idleUnloadedModels()], maxConcurrent: this.cfg.maxConcurrent, healthy: this.healthy(), draining: this.draining,
      kvUsedBytes: this.governor.usedBytes(), kvCapacityBytes: this.kvCapacityBytes, activeSequences: this.jobs.size, runtimesAlive: alive, runtimesTotal: total,
      device: this.devices().join(', '),
      blas: [...new Set([...this.models.values()].flatMap((m) => (m.pool.blas === undefined ? [] : [m.pool.blas])))].sort().join(', '),
      ...(this.cfg.modelMemoryBytes !== undefined && { memoryFreeBytes: this.modelMemoryFreeBytes(this.cfg.modelMemoryBytes) }),
      coldModels: this.idleUnloadedModels(),
    };
  }

  /** modelMemoryBytes less the weights of the models loaded or loading now (idle-unloaded ones hold none), at least 0. */
  private modelMemoryFreeBytes(budget: number): number {
    let used = 0;
    for (const m of this.models.values()) used += m.bytes;
    return Math.max(0, budget - used);
  }

  /** The MLX devices the runtimes reported in their `health` answers (distinct, e.g. ["Device(gpu, 0)"]). */
  devices(): string[] {
    const seen = new Set<string>();
    for (const m of this.models.values()) if (m.pool.device !== undefined) seen.add(m.pool.device);
    return [...seen].sort();
  }

  /** Unhealthy when a model has no runtime alive and every one of them failed UNHEALTHY_FAILURES starts in a row (core/worker/model-lifecycle.ts). */
  healthy(): boolean {
    if (this.stopped) return false;
    for (const m of this.models.values()) {
      if (modelUnhealthy(m.pool.aliveCount(), m.pool.slots.map((s) => s.failures))) return false;
    }
    return true;
  }

  health(): HealthResponseMsg {
    const healthy = this.healthy();
    const st = this.status();
    const idle = this.idleUnloadedModels();
    const ready = healthy && !this.draining && (st.runtimesAlive > 0 || idle.length > 0);
    const detail = [
      ...[...this.models.values()].map((m) => `${m.id}: ${m.pool.aliveCount()}/${m.pool.slots.length} runtimes up`),
      ...idle.map((id) => `${id}: unloaded (idle), loads on demand`),
    ].join('; ') || 'no model loaded';
    return { healthy, ready, detail: `${this.draining ? 'draining; ' : ''}${detail}` };
  }

  // ───────────────────────────── drain and stop ─────────────────────────────

  /** Stops (or resumes) taking new work; in-flight requests finish. */
  setDraining(draining: boolean): { draining: boolean; inFlight: number } {
    if (!this.stopped) this.draining = draining;
    return { draining: this.draining, inFlight: this.jobs.size };
  }

  /** Resolves when no request is in flight (or after timeoutMs; returns whether it drained). */
  drained(timeoutMs: number): Promise<boolean> {
    if (this.jobs.size === 0 && this.kvWait.size === 0) return Promise.resolve(true);
    return new Promise((res) => {
      const done = (ok: boolean) => {
        clearTimeout(timer);
        this.drainWaiters.delete(waiter);
        res(ok);
      };
      const waiter = () => done(true);
      const timer = setTimeout(() => done(false), timeoutMs);
      this.drainWaiters.add(waiter);
    });
  }

  /** Drains (up to graceMs), fails what is left, stops every runtime. */
  async stop(graceMs = 5_000): Promise<void> {
    if (this.stopped) return;
    this.draining = true;
    this.warmup.stop();
    if (this.idleTimer !== undefined) clearInterval(this.idleTimer);
    this.idleTimer = undefined;
    await this.drained(graceMs);
    this.stopped = true;
    this.kvWait.refuseWhere(() => true, () => new WorkerError('draining', 'the worker is shutting down'));
    for (const job of [...this.jobs.values()]) {
      this.cancelOnRuntime(job);
      this.end(job, new WorkerError('draining', 'the worker is shutting down'));
    }
    await Promise.all([...this.models.values()].map((m) => m.pool.stop()));
    // A load in progress (its pool was just stopped, or it sees `stopped`) fails and stops its pool.
    await Promise.allSettled([...this.loading.values(), ...this.unloading.values()]);
    await Promise.all([...this.models.values()].map((m) => m.pool.stop()));
  }

  // ───────────────────────────── internals ─────────────────────────────

  private idlestRuntime() {
    let best: RuntimeSlot | undefined;
    for (const m of this.models.values()) {
      for (const s of m.pool.slots) if (s.state === 'alive' && s.inFlight === 0 && (best === undefined || s.lastUsedMs < best.lastUsedMs)) best = s;
    }
    if (best?.proc === undefined) return undefined;
    const slot = best;
    return { client: best.proc.client, modelId: best.modelId, markUsed: (nowMs: number) => { slot.lastUsedMs = nowMs; } };
  }
}
