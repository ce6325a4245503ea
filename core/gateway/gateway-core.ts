/* eslint-disable max-lines -- the request lifecycle: every event handler and every move of a request in one place (its parts are beside it, see below) */
// The gateway core: a sans-IO state machine that composes every policy. Events in, commands out
// (messages.ts). The simulator and the live gateway drive this same code; neither makes a serving
// decision of its own. Over 400 lines because it is the request lifecycle — the event handlers and
// every move of a request — kept in one place; its parts are beside it: the phases and their
// transition table (phases.ts), the worker table and routable index (worker-table.ts), the per-model
// queues and drain rates (model-queues.ts), the timers (timers.ts) and the watchdog rule (progress.ts).
//
// A request's life:
//   arrived ─┬─ reject (unknown model, rate limit, capacity)            [terminal]
//            ├─ serveFromCache (dedupe within TTL, response cache)       [terminal]
//            ├─ follower of an identical in-flight leader ── complete via coalesced | fail | released to run alone
//            └─ waiting (batcher) → queued (no free worker) → running on a worker
//                 running ── done → complete                             [terminal]
//                         └─ error/timeout → backoff → waiting again (retry) | fail [terminal]
// A request whose client leaves gets `fail` with client_cancelled; if it leads followers, its job
// keeps running for them. Every request receives exactly one terminal command (accounting invariant,
// property-tested in gateway-core.test.ts).
import { msPerToken, type AdaptiveLimit } from '../admission/adaptive-limit.js';
import { createBatcher } from '../batching/factory.js';
import { CanaryRouter, type CanaryDecisions, type CanaryModelStatus } from '../canary/canary-router.js';
import type { Batcher } from '../batching/batcher.js';
import { Coalescer } from '../caching/coalescer.js';
import { fingerprint, isShareable } from '../caching/fingerprint.js';
import { ResponseStore } from '../caching/response-store.js';
import type { GatewayConfig } from '../config/types.js';
import { clientErrorCodeOf, ERRORS, type ErrorCode } from '../errors.js';
import { isRetryable } from '../worker/errors.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { TenantLimiter } from '../limits/tenant-limiter.js';
import { createRoutingPolicy } from '../routing/factory.js';
import type { RoutingContext, RoutingPolicy } from '../routing/policy.js';
import { RetryPolicy } from '../retry/retry-policy.js';
import { ScalingSignal, type ModelScaling } from '../scaling/scaling-signal.js';
import type { InferenceRequest, RequestId, Rng, WorkerId } from '../types.js';
import { invariantFailed } from '../util/assert.js';
import type { Command, GatewayEvent, Usage, WorkerEvent, WorkerFailure, WorkerStatus } from './messages.js';
import { ModelLoads, placeModel } from './model-loads.js';
import { ModelQueues } from './model-queues.js';
import { OutcomeCounters } from './outcomes.js';
import { overdue } from './progress.js';
import { countsByPhase, transition, type Phase } from './phases.js';
import { Timers, type Timer, type TimerKind } from './timers.js';
import { WorkerTable, type WorkerInfo, type WorkerState as TableWorker } from './worker-table.js';

interface Tracked {
  /** Its model may change on a retry: a canary version's failed attempt is retried on the stable version. */
  req: InferenceRequest;
  readonly arrivedAtMs: number;
  readonly fp: string | undefined;
  phase: Phase;
  attempt: number;
  workerId: WorkerId | undefined;
  dispatchedAtMs: number;
  /** First token event of this attempt (the adaptive limit's signal), undefined until one arrives. */
  firstTokenAtMs: number | undefined;
  lastProgressMs: number;
  phaseSinceMs: number;
  /** Tokens that reached the client(s) of this job: after the first, no retry. */
  tokensSent: number;
  /** The leader's own client left; the job runs on for its followers. */
  clientGone: boolean;
  leaderId: RequestId | undefined;
  excluded: Set<WorkerId> | undefined;
  /** A retry runs here if this worker is routable (it said it has another healthy runtime: retryHere). */
  preferred: WorkerId | undefined;
  recipients: RequestId[] | undefined;
  /** The model counted in `unanswered` while this attempt's worker has not answered it yet (dispatchWhenIdle). */
  unansweredModel: string | undefined;
}

type WorkerState = TableWorker<Tracked>;

/** endGroup's answer for a request that leads no group (most): one shared empty list, read only. */
const NO_FOLLOWERS: readonly Tracked[] = Object.freeze([]);

export type { WorkerInfo } from './worker-table.js';

export class GatewayCore {
  private readonly requests = new Map<RequestId, Tracked>();
  private readonly workers: WorkerTable<Tracked>;
  /** Per-model FIFO of queued request ids; entries of requests that left are skipped lazily. */
  /** Requests no worker could take yet, per model, and each model's drain rate (model-queues.ts). */
  private readonly queues: ModelQueues;
  /** Named tenants' own rate limits (rateLimit.tenants). */
  private readonly tenantLimiter: TenantLimiter;
  private waitingCount = 0;
  private readonly timers = new Timers();
  private batchTimerAtMs: number | undefined;
  /**
   * Nagle's rule for the batching window (config.batching.dispatchWhenIdle): per model, requests
   * dispatched whose worker has not answered yet (no event of their attempt). A request of a model
   * absent here leaves the batcher at once; the last answer releases what waits.
   */
  private readonly dispatchWhenIdle: boolean;
  private readonly unanswered = new Map<string, number>();
  private out: Command[] = [];

  readonly routing: RoutingPolicy;
  readonly batcher: Batcher;
  readonly dedupe: ResponseStore;
  readonly cache: ResponseStore;
  readonly coalescer: Coalescer;
  readonly retry: RetryPolicy;
  private readonly rateLimiter: RateLimiter;
  readonly outcomes = new OutcomeCounters();
  /** Arrivals and service times per model, for scalingSignal (core/scaling/). */
  private readonly scaling: ScalingSignal;
  /** Versions and canaries of models (core/canary/): which version serves a request, rollbacks. */
  private readonly canary: CanaryRouter;
  /** Catalogued models being loaded on a worker for the requests waiting on them (model-loads.ts). */
  private readonly loads: ModelLoads;

  constructor(
    readonly config: GatewayConfig,
    private readonly rng: Rng,
  ) {
    this.workers = new WorkerTable(config);
    this.routing = createRoutingPolicy(config.routing);
    this.batcher = createBatcher(config.batching);
    this.dispatchWhenIdle = config.batching.type !== 'none' && config.batching.dispatchWhenIdle !== false;
    const c = config.caching;
    this.dedupe = new ResponseStore({ entriesMax: c.dedupe.entriesMax, ttlMs: c.dedupe.ttlMs });
    this.cache = new ResponseStore({ entriesMax: c.responseCache.entriesMax, ttlMs: c.responseCache.ttlMs });
    this.coalescer = new Coalescer({ followersMax: c.coalescing.followersMax, groupsMax: c.coalescing.groupsMax });
    this.retry = new RetryPolicy(config.retry);
    this.rateLimiter = new RateLimiter(config.rateLimit);
    this.tenantLimiter = new TenantLimiter(config.rateLimit.tenants);
    this.scaling = new ScalingSignal(config.scaling);
    this.queues = new ModelQueues(config.fairness.enabled);
    this.canary = new CanaryRouter(config.canary);
    this.loads = new ModelLoads(config.admission.queueTimeoutMs);
  }

  /** One entry point for every event (used by fuzzers and drivers that queue events). */
  handle(event: GatewayEvent, nowMs: number): Command[] {
    switch (event.type) {
      case 'requestArrived':
        return this.onRequestArrived(event.req, nowMs);
      case 'requestCancelled':
        return this.onRequestCancelled(event.requestId, nowMs);
      case 'workerEvent':
        return this.onWorkerEvent(event.event, nowMs);
      case 'workerStatus':
        return this.onWorkerStatus(event.status, nowMs);
      case 'workerRemoved':
        return this.onWorkerRemoved(event.workerId, nowMs);
      case 'modelLoadFailed':
        return this.onModelLoadFailed(event.workerId, event.model, event.message, nowMs);
      case 'timerFired':
        return this.onTimer(nowMs);
    }
  }

  // ───────────────────────────── events ─────────────────────────────

  onRequestArrived(arrived: InferenceRequest, nowMs: number): Command[] {
    this.outcomes.arrived++;
    if (this.requests.has(arrived.id)) invariantFailed(`request id ${arrived.id} arrived twice`);
    if (this.requests.size >= this.config.requestsInFlightMax) return this.finishReject(arrived.id, 'overloaded', nowMs, 1000);
    const modelId = this.modelIdFor(arrived.model, arrived.sessionId, arrived.id, nowMs);
    if (modelId === undefined) return this.finishReject(arrived.id, 'model_not_found', nowMs);
    const req = modelId === arrived.model ? arrived : { ...arrived, model: modelId };
    const held = this.workers.idsOf(req.model).length > 0;
    if (!held && this.config.catalog[req.model] === undefined) return this.finishReject(req.id, 'model_not_found', nowMs);
    this.scaling.onArrival(req.model, nowMs);
    if (this.config.rateLimit.enabled) {
      // The tenant's limits are checked first and taken last: a refusal by either takes nothing from the other.
      const tw = this.tenantLimiter.waitMs(req.tenant, req.promptTokens, nowMs);
      if (tw.waitMs > 0) return this.finishReject(req.id, 'rate_limited', nowMs, tw.waitMs);
      if (req.apiKey !== undefined) {
        const d = this.rateLimiter.check(req.apiKey, req.promptTokens, nowMs);
        if (!d.ok) return this.finishReject(req.id, 'rate_limited', nowMs, d.retryAfterMs);
      }
      this.tenantLimiter.take(req.tenant, req.promptTokens, nowMs);
    }
    const caching = this.config.caching;
    const fp = isShareable(req, caching.shareNondeterministic) ? fingerprint(req) : undefined;
    if (fp !== undefined) {
      let source: 'dedupe' | 'cache' = 'dedupe';
      let hit = caching.dedupe.enabled ? this.dedupe.get(fp, nowMs) : undefined;
      if (hit === undefined && caching.responseCache.enabled) {
        source = 'cache';
        hit = this.cache.get(fp, nowMs);
      }
      if (hit !== undefined) {
        this.outcomes.count(source === 'dedupe' ? 'deduped' : 'cached');
        return this.flush([{ type: 'serveFromCache', requestId: req.id, answer: hit, source }]);
      }
    }
    // A catalogued model no worker holds: loaded on one (once), the request waits for it in the queue.
    if (held ? this.noHealthyWorker(req.model, nowMs) : !this.ensureLoad(req.model, nowMs)) return this.finishReject(req.id, 'no_healthy_worker', nowMs, this.workers.cooldownLeftMs(req.model, nowMs));
    const following = fp !== undefined && caching.coalescing.enabled ? this.coalescer.join(fp, req.id) : undefined;
    const t: Tracked = {
      req, arrivedAtMs: nowMs, fp, phase: following?.role === 'follower' ? 'following' : 'waiting', attempt: 0, workerId: undefined, dispatchedAtMs: 0, firstTokenAtMs: undefined, lastProgressMs: nowMs,
      phaseSinceMs: nowMs, tokensSent: 0, clientGone: false, leaderId: undefined, excluded: undefined, preferred: undefined, recipients: undefined,
      unansweredModel: undefined,
    };
    if (following?.role === 'follower') {
      t.leaderId = following.leaderId;
      this.requests.set(req.id, t);
      this.requests.get(following.leaderId)!.recipients = undefined;
      this.out.push({ type: 'attachFollower', leaderId: following.leaderId, followerId: req.id });
      this.arm(nowMs + caching.coalescing.followerTimeoutMs, 'follower', req.id);
      return this.flush();
    }
    if (this.queues.count + this.waitingCount >= this.config.admission.queueMax) {
      if (fp !== undefined) this.coalescer.end(req.id);
      return this.finishReject(req.id, 'queue_full', nowMs, this.retryAfterEstimateMs(req.model, nowMs));
    }
    this.requests.set(req.id, t);
    this.joinBatcher(t, nowMs);
    // Nothing of this model awaits a worker's answer: no batch would grow by waiting, so it leaves now.
    if (this.dispatchWhenIdle && !this.unanswered.has(req.model)) this.releaseBatches(this.batcher.takeModel(req.model), nowMs);
    this.releaseDueBatches(nowMs);
    return this.flush();
  }

  onRequestCancelled(requestId: RequestId, nowMs: number): Command[] {
    const t = this.requests.get(requestId);
    if (t === undefined || t.clientGone) return [];
    if (t.phase === 'following') {
      this.coalescer.detach(t.leaderId!, requestId);
      this.invalidateRecipients(t.leaderId!);
      this.out.push({ type: 'detachFollower', leaderId: t.leaderId!, followerId: requestId });
      this.requests.delete(requestId);
      this.emitFail(t, 'client_cancelled');
      return this.flush();
    }
    if (this.coalescer.followers(requestId).size > 0) {
      // Followers still need this job: keep it, but this client is done.
      t.clientGone = true;
      t.recipients = undefined;
      this.emitFail(t, 'client_cancelled');
      return this.flush();
    }
    this.emitFail(t, 'client_cancelled');
    this.dropJob(t, nowMs, true);
    return this.flush();
  }

  onWorkerEvent(ev: WorkerEvent, nowMs: number): Command[] {
    const t = this.requests.get(ev.requestId);
    const seen = this.workers.get(ev.workerId);
    if (seen !== undefined) seen.lastSeenMs = nowMs;
    if (t === undefined || t.phase !== 'running' || t.workerId !== ev.workerId) return []; // stale attempt
    t.lastProgressMs = nowMs;
    const nowIdle = this.answered(t);
    if (ev.kind === 'tokens') {
      if (t.firstTokenAtMs === undefined) this.canaryFirstToken(t, nowMs);
      t.firstTokenAtMs ??= nowMs;
      // Tokens count as sent once a streaming client may have received them; a non-streaming
      // client sees nothing until the end, so its job stays retryable.
      if (t.req.stream || this.coalescer.followers(t.req.id).size > 0) t.tokensSent += ev.tokens;
      const recipients = this.recipientsOf(t);
      if (recipients.length > 0) this.out.push({ type: 'deliver', jobId: t.req.id, recipients, event: ev });
      if (nowIdle !== undefined) this.releaseBatches(this.batcher.takeModel(nowIdle), nowMs);
      return this.flush();
    }
    const w = seen; // the same lookup: nothing above changes the worker table
    this.leaveWorker(t, w, nowMs);
    if (ev.kind === 'done') {
      this.recordCanary(t, true, nowMs);
      this.queues.recordCompletion(t.req.model, nowMs);
      this.scaling.onCompletion(t.req.model, nowMs - t.dispatchedAtMs, nowMs);
      w?.breaker.onSuccess(nowMs);
      if (w?.limiter !== undefined) this.observeLatency(w, w.limiter, t, ev.output.completionTokens, nowMs);
      this.workers.touch(w, nowMs);
      this.retry.onSuccess();
      const latencyMs = nowMs - t.dispatchedAtMs;
      this.routing.onRequestComplete?.(ev.workerId, t.req, latencyMs, nowMs);
      this.batcher.observeServiceMs?.(t.req.model, latencyMs / Math.max(1, w?.view.inFlight ?? 1));
      const o = ev.output;
      if (t.fp !== undefined) {
        const answer = { ...(o.text !== undefined && { text: o.text }), ...(o.logprobs !== undefined && { logprobs: o.logprobs }), promptTokens: o.promptTokens, completionTokens: o.completionTokens, finishReason: o.finishReason, ...(o.stopSequence !== undefined && { stopSequence: o.stopSequence }) };
        if (this.config.caching.dedupe.enabled) this.dedupe.set(t.fp, answer, nowMs);
        if (this.config.caching.responseCache.enabled) this.cache.set(t.fp, answer, nowMs);
      }
      if (this.config.rateLimit.enabled) {
        if (t.req.apiKey !== undefined) this.rateLimiter.charge(t.req.apiKey, o.completionTokens, nowMs);
        this.tenantLimiter.charge(t.req.tenant, o.completionTokens, nowMs);
      }
      const recipients = this.recipientsOf(t);
      if (recipients.length > 0) this.out.push({ type: 'deliver', jobId: t.req.id, recipients, event: ev });
      // cachedPromptTokens is set after the others, as a spread would (same keys, same order), without its runtime call.
      const usage: { -readonly [K in keyof Usage]: Usage[K] } = { promptTokens: o.promptTokens, completionTokens: o.completionTokens };
      if (o.cachedPromptTokens !== undefined) usage.cachedPromptTokens = o.cachedPromptTokens;
      this.requests.delete(t.req.id);
      if (!t.clientGone) {
        this.outcomes.count('served');
        this.out.push({ type: 'complete', requestId: t.req.id, usage, via: 'worker' });
      }
      for (const f of this.endGroup(t)) {
        this.outcomes.count('coalesced');
        this.outcomes.tokensSaved += o.completionTokens;
        this.out.push({ type: 'complete', requestId: f.req.id, usage: { ...usage, cachedPromptTokens: o.promptTokens }, via: 'coalesced' });
      }
    } else if (ev.failure.clientFault === true || !isRetryable(ev.failure.code)) {
      // The worker answered, correctly: the request was bad, or out of time. Not the worker's failure, and no retry.
      w?.breaker.onSuccess(nowMs);
      this.workers.touch(w, nowMs);
      this.failWithoutRetry(t, ev.failure);
    } else {
      w?.breaker.onFailure(nowMs);
      if (w !== undefined) this.wakeWhenBreakerCools(w, nowMs);
      this.workers.touch(w, nowMs);
      this.failAttempt(t, 'worker', nowMs, ev.failure.retryHere === true);
    }
    this.drainQueues(nowMs);
    if (nowIdle !== undefined) this.releaseBatches(this.batcher.takeModel(nowIdle), nowMs);
    return this.flush();
  }

  onWorkerStatus(s: WorkerStatus, nowMs: number): Command[] {
    const w = this.workers.applyStatus(s, nowMs);
    this.wakeWhenBreakerCools(w, nowMs);
    this.workers.touch(w, nowMs);
    this.arm(w.heartbeat.deadlineMs(), 'heartbeat', s.workerId);
    if (this.loads.size > 0) for (const m of this.loads.models()) if (this.workers.idsOf(m).length > 0) this.loads.end(m);
    this.drainQueues(nowMs);
    return this.flush();
  }

  onWorkerRemoved(workerId: WorkerId, nowMs: number): Command[] {
    const w = this.workers.get(workerId);
    if (w === undefined) return [];
    for (const t of [...w.running]) {
      this.leaveWorker(t, w, nowMs);
      this.failAttempt(t, 'worker', nowMs);
    }
    this.workers.remove(workerId);
    this.routing.onWorkerRemoved?.(workerId);
    for (const m of this.loads.modelsOn(workerId)) this.failLoad(m, `worker ${workerId} left while loading ${m}`, nowMs);
    this.drainQueues(nowMs);
    return this.flush();
  }

  /** A load this core asked for failed: the requests waiting for the model fail with model_load_failed. */
  onModelLoadFailed(workerId: WorkerId, model: string, message: string, nowMs: number): Command[] {
    if (this.loads.loadingOn(model, nowMs) !== workerId) return [];
    this.failLoad(model, `loading ${model} on ${workerId} failed: ${message}`, nowMs);
    this.drainQueues(nowMs);
    return this.flush();
  }

  onTimer(nowMs: number): Command[] {
    this.timers.woke(nowMs);
    for (let due = this.timers.popDue(nowMs); due !== undefined; due = this.timers.popDue(nowMs)) this.fire(due, nowMs);
    this.releaseDueBatches(nowMs);
    this.drainQueues(nowMs);
    return this.flush();
  }

  // ───────────────────────────── admin / introspection ─────────────────────────────

  /** Marks a worker as draining locally (no new work) until its next status says otherwise. */
  drain(workerId: WorkerId, nowMs: number): boolean {
    const w = this.workers.get(workerId);
    if (w === undefined) return false;
    w.draining = true;
    this.workers.touch(w, nowMs);
    return true;
  }

  flushCaches(): { dedupe: number; cache: number } {
    return { dedupe: this.dedupe.flush(), cache: this.cache.flush() };
  }

  /** Each canaried model's versions, weights and window figures (admin). */
  canaryStatus(nowMs: number): CanaryModelStatus[] {
    return this.canary.status(nowMs);
  }

  /** A canaried model's decisions (stable, rolled back, promotion epoch), to share with other gateways. */
  canaryDecisions(model: string): CanaryDecisions | undefined {
    return this.canary.decisions(model);
  }

  /** Decisions another gateway shared (core/canary/canary-router.ts applyDecisions); whether anything changed. */
  applyCanaryDecisions(model: string, shared: CanaryDecisions): boolean {
    return this.canary.applyDecisions(model, shared);
  }

  /** Makes `version` the stable version of `model`, with all its traffic (admin); an error value for unknown names. */
  promoteCanary(model: string, version: string): { ok: true } | { ok: false; reason: string } {
    return this.canary.promote(model, version);
  }

  workerInfo(nowMs: number): WorkerInfo[] {
    return this.workers.info(nowMs);
  }

  /**
   * How many workers each served model needs now for its target (core/scaling/desired-workers.ts),
   * from the arrivals and service times observed here; empty when config.scaling is off.
   */
  scalingSignal(nowMs: number): ModelScaling[] {
    if (!this.config.scaling.enabled) return [];
    const models = [...this.workers.models()].map((model) => {
      const ids = this.workers.idsOf(model);
      let inFlight = 0;
      let slots = 0;
      for (const id of ids) {
        const w = this.workers.get(id)!;
        slots += w.view.maxConcurrent;
        for (const t of w.running) if (t.req.model === model) inFlight++;
      }
      return { model, inFlight, queued: this.queues.countOf(model), workers: ids.length, slotsPerWorker: ids.length === 0 ? 0 : slots / ids.length, completionsPerS: this.queues.drainPerSecond(model, nowMs) };
    });
    return this.scaling.signal(models, nowMs);
  }

  /**
   * The model id a request for `model` runs as: itself, or for a canaried name the id of the version
   * chosen for it (`name@version`, core/canary/), among the versions with a worker accepting work
   * (healthy, breaker closed), else among those with any; undefined when no weighted version has one.
   */
  modelIdFor(model: string, sessionId: string | undefined, requestId: string, nowMs: number): string | undefined {
    return this.canary.resolve(model, sessionId, requestId, (m) => this.workers.anyAccepting(m, nowMs))
      ?? this.canary.resolve(model, sessionId, requestId, (m) => this.workers.idsOf(m).length > 0);
  }

  /** The worker for a one-shot call the core does not track (embeddings): worker-table.ts pickForOneShot. */
  pickForOneShot(model: string, nowMs: number): ReturnType<WorkerTable<Tracked>['pickForOneShot']> {
    return this.workers.pickForOneShot(model, nowMs);
  }

  /** Models with at least one healthy, non-draining worker (readiness). */
  readyModels(nowMs: number): string[] {
    const out: string[] = [];
    for (const model of this.workers.models()) if (!this.noHealthyWorker(model, nowMs)) out.push(model);
    return out.sort();
  }

  /** Requests tracked now, by phase. */
  activeByPhase(): Record<Phase, number> {
    const r = countsByPhase();
    for (const t of this.requests.values()) r[t.phase]++;
    return r;
  }

  activeCount(): number {
    return this.requests.size;
  }

  // ───────────────────────────── internals ─────────────────────────────

  private enterWaiting(t: Tracked, nowMs: number): void {
    transition(t, 'waiting', nowMs);
    this.joinBatcher(t, nowMs);
  }

  private joinBatcher(t: Tracked, nowMs: number): void {
    this.waitingCount++;
    this.batcher.add(t.req, nowMs);
  }

  private releaseDueBatches(nowMs: number): void {
    this.releaseBatches(this.batcher.takeDue(nowMs), nowMs);
    const due = this.batcher.nextDueMs();
    if (due !== undefined && due !== this.batchTimerAtMs) {
      this.batchTimerAtMs = due;
      this.arm(Math.max(due, nowMs), 'batch', '');
    }
  }

  /** Routes each request of the batches taken from the batcher, and dispatches them per worker. */
  private releaseBatches(batches: readonly InferenceRequest[][], nowMs: number): void {
    if (batches.length === 0) return;
    const groups = new Map<WorkerId, InferenceRequest[]>();
    for (const batch of batches) {
      for (const req of batch) {
        this.waitingCount--;
        const t = this.requests.get(req.id);
        if (t === undefined || t.phase !== 'waiting') invariantFailed(`batched request ${req.id} is not waiting`);
        transition(t, 'routing', nowMs);
        this.placeOrQueue(t, nowMs, groups);
      }
    }
    this.emitDispatches(groups);
  }

  /**
   * The attempt's worker answered it (or it left the worker): it no longer counts as unanswered.
   * Returns its model when that was the model's last unanswered request (what waits may leave now).
   */
  private answered(t: Tracked): string | undefined {
    const model = t.unansweredModel;
    if (model === undefined) return undefined;
    t.unansweredModel = undefined;
    const n = this.unanswered.get(model)!;
    if (n > 1) {
      this.unanswered.set(model, n - 1);
      return undefined;
    }
    this.unanswered.delete(model);
    return model;
  }

  /** Routes the request to a worker (added to `groups`) or queues it at the gateway. */
  private placeOrQueue(t: Tracked, nowMs: number, groups: Map<WorkerId, InferenceRequest[]>): void {
    if (this.workers.idsOf(t.req.model).length === 0 && !(this.config.catalog[t.req.model] !== undefined && this.ensureLoad(t.req.model, nowMs))) {
      // The model left the cluster while this request waited (unloaded, workers removed), and cannot be loaded.
      this.rejectJob(t, 'model_not_found', nowMs);
      return;
    }
    const w = this.route(t, nowMs);
    if (w !== undefined) {
      this.startOn(t, w, nowMs);
      let g = groups.get(w.view.id);
      if (g === undefined) groups.set(w.view.id, (g = []));
      g.push(t.req);
      return;
    }
    const refusalFactor = this.config.admission.earlyRefusalFactor;
    if (refusalFactor > 0) {
      const waitMs = this.queues.predictedWaitMs(t.req.model, nowMs);
      if (waitMs !== undefined && waitMs > refusalFactor * this.config.admission.queueTimeoutMs) {
        this.rejectJob(t, 'queue_full', nowMs);
        return;
      }
    }
    transition(t, 'queued', nowMs);
    this.queues.push(t.req.model, t.req.id, ...this.fairShare(t.req));
    this.arm(nowMs + this.config.admission.queueTimeoutMs, 'queue', t.req.id);
  }

  /** The request's tenant and weight in its model's fair queue (fairness off: '' and 1, a FIFO). */
  private fairShare(req: InferenceRequest): [string, number] {
    const f = this.config.fairness;
    if (!f.enabled) return ['', 1];
    const tenant = req.tenant ?? '';
    return [tenant, f.weights[tenant] ?? f.defaultWeight];
  }

  private route(t: Tracked, nowMs: number): WorkerState | undefined {
    const ids = this.workers.idsOf(t.req.model);
    let candidates = this.workers.routableOf(t.req.model);
    let candidatesById = this.workers.routableIndexOf(t.req.model);
    if (t.preferred !== undefined) {
      // A retry the failed worker can take on another runtime of its own (retryHere): there, if routable.
      const preferred = t.preferred;
      t.preferred = undefined;
      if (candidatesById?.has(preferred) ?? candidates.some((v) => v.id === preferred)) return this.workers.get(preferred);
    }
    if (t.excluded !== undefined && candidates.length > 1) {
      // A retry avoids the workers that failed it, unless no other worker is routable.
      const excluded = t.excluded;
      const others = candidates.filter((v) => !excluded.has(v.id));
      if (others.length > 0) {
        candidates = others;
        candidatesById = undefined;
      }
    }
    const warm = this.config.preferWarm ? this.workers.warmFirst(t.req.model, candidates) : candidates;
    if (warm !== candidates) {
      candidates = warm;
      candidatesById = undefined;
    }
    // candidatesById is set last, as a spread would (same keys, same order), without the spread's runtime call (once per route).
    const ctx: { -readonly [K in keyof RoutingContext]: RoutingContext[K] } = { nowMs, rng: this.rng, allWorkerIds: ids };
    if (candidatesById !== undefined) ctx.candidatesById = candidatesById;
    const picked = this.routing.pick(t.req, candidates, ctx);
    return picked === undefined ? undefined : this.workers.get(picked.id);
  }

  private startOn(t: Tracked, w: WorkerState, nowMs: number): void {
    transition(t, 'running', nowMs);
    t.workerId = w.view.id;
    t.attempt++;
    t.dispatchedAtMs = nowMs;
    t.firstTokenAtMs = undefined;
    t.lastProgressMs = nowMs;
    w.view.inFlight++;
    if (this.dispatchWhenIdle) {
      if (t.unansweredModel !== undefined) invariantFailed(`request ${t.req.id} dispatched while its previous attempt was unanswered`);
      const model = t.req.model;
      t.unansweredModel = model;
      this.unanswered.set(model, (this.unanswered.get(model) ?? 0) + 1);
    }
    w.breaker.onDispatch(nowMs);
    this.workers.touch(w, nowMs);
    this.routing.onDispatch?.(w.view.id, t.req, nowMs);
    w.running.add(t);
    if (!w.progressTimerArmed) {
      w.progressTimerArmed = true;
      this.arm(nowMs + this.config.breaker.timeoutMs, 'progress', w.view.id);
    }
  }

  private emitDispatches(groups: Map<WorkerId, InferenceRequest[]>): void {
    for (const [workerId, requests] of groups) this.out.push({ type: 'dispatch', workerId, requests });
  }

  /**
   * A job completed on w: its decode ms per token feeds w's adaptive limit (core/admission/
   * adaptive-limit.ts), and the gateway's limit on w follows it. w.view.inFlight no longer counts
   * the job (leaveWorker ran), hence + 1.
   */
  private observeLatency(w: WorkerState, limiter: AdaptiveLimit, t: Tracked, completionTokens: number, nowMs: number): void {
    const sample = { dispatchedAtMs: t.dispatchedAtMs, msPerToken: msPerToken(t.dispatchedAtMs, t.firstTokenAtMs, nowMs, completionTokens), inFlight: w.view.inFlight + 1 };
    w.view.maxConcurrent = Math.min(w.staticMaxConcurrent, limiter.observe(sample, w.staticMaxConcurrent, nowMs));
  }

  /** The job no longer occupies its worker (t.workerId is kept: a retry excludes that worker). */
  private leaveWorker(t: Tracked, w: WorkerState | undefined, nowMs: number): void {
    this.answered(t);
    if (w !== undefined) {
      w.view.inFlight--;
      w.running.delete(t);
    }
    this.workers.touch(w, nowMs);
  }

  /**
   * An attempt failed (worker error, timeout, worker gone). Retry, or fail the job and its followers.
   * A retry avoids the worker that failed it, unless that worker said it can run it again on another
   * runtime of its own (retryHere: a runtime lost before the first token): then it prefers that worker.
   */
  private failAttempt(t: Tracked, fault: 'worker' | 'timeout', nowMs: number, retryHere = false): void {
    this.recordCanary(t, false, nowMs);
    const failedOn = t.workerId;
    const d = this.retry.decide(t.attempt, t.tokensSent, this.rng);
    if (d.retry) {
      this.outcomes.retries++;
      transition(t, 'backoff', nowMs);
      if (failedOn !== undefined && retryHere) t.preferred = failedOn;
      else if (failedOn !== undefined) (t.excluded ??= new Set()).add(failedOn);
      this.arm(nowMs + d.delayMs, 'retry', t.req.id);
      return;
    }
    const code: ErrorCode = fault === 'timeout' ? 'worker_timeout' : 'worker_error';
    this.requests.delete(t.req.id);
    if (!t.clientGone) this.emitFail(t, code);
    for (const f of this.endGroup(t)) this.emitFail(f, code, t.tokensSent);
  }

  /** An attempt's first token for its version's window, judged at once (a slow canary is caught before its requests end). */
  private canaryFirstToken(t: Tracked, nowMs: number): void {
    this.canary.recordFirstToken(t.req.model, nowMs - t.dispatchedAtMs, nowMs);
    for (const rb of this.canary.evaluate(nowMs)) this.out.push({ type: 'canaryRolledBack', ...rb });
  }

  /** One attempt's end for its version's window; a canary rolled back now is reported (canaryRolledBack). */
  private recordCanary(t: Tracked, ok: boolean, nowMs: number): void {
    // An answer without a tokens event before it (all in one message) had its first token now.
    if (ok && t.firstTokenAtMs === undefined) this.canary.recordFirstToken(t.req.model, nowMs - t.dispatchedAtMs, nowMs);
    this.canary.recordOutcome(t.req.model, ok, nowMs);
    for (const rb of this.canary.evaluate(nowMs)) this.out.push({ type: 'canaryRolledBack', ...rb });
  }

  /**
   * A failure another attempt cannot fix (core/worker/errors.ts): the client's fault (the worker's 4xx
   * code) or a passed deadline (504 deadline_exceeded). The job and its followers fail with the
   * worker's message, without a retry.
   */
  private failWithoutRetry(t: Tracked, failure: WorkerFailure): void {
    const code: ErrorCode = failure.clientFault === true ? clientErrorCodeOf(failure.code) : failure.code === 'deadline_exceeded' ? 'deadline_exceeded' : 'worker_error';
    this.requests.delete(t.req.id);
    if (!t.clientGone) this.emitFail(t, code, t.tokensSent, failure.message);
    for (const f of this.endGroup(t)) this.emitFail(f, code, t.tokensSent, failure.message);
  }

  /** Refuses a job that never ran to completion, and its followers, with the same code. */
  private rejectJob(t: Tracked, code: ErrorCode, nowMs: number, message?: string): void {
    const followers = this.endGroup(t);
    this.dropJob(t, nowMs, false);
    const retryAfterMs = code === 'model_not_found' ? undefined : this.retryAfterEstimateMs(t.req.model, nowMs);
    if (!t.clientGone) this.emitReject(t.req.id, code, retryAfterMs, message);
    for (const f of followers) this.emitReject(f.req.id, code, retryAfterMs, message);
  }

  /**
   * `model` is held by a worker or being loaded on one; else, when a worker accepts work, a load is
   * started there (one `loadModel` command, model-loads.ts). False when no worker can load it.
   */
  private ensureLoad(model: string, nowMs: number): boolean {
    if (this.workers.idsOf(model).length > 0 || this.loads.loadingOn(model, nowMs) !== undefined) return true;
    const entry = this.config.catalog[model]!;
    const candidates = [...this.workers.values()].map((w) => {
      this.workers.refresh(w, nowMs);
      return { id: w.view.id, healthy: w.healthy, draining: w.draining, breakerAllows: w.breakerAllows, inFlight: w.view.inFlight, memoryFreeBytes: w.memoryFreeBytes };
    });
    const workerId = placeModel(candidates, entry.bytes);
    if (workerId === undefined) return false;
    this.loads.start(model, workerId, nowMs);
    this.out.push({ type: 'loadModel', workerId, model, path: entry.path, bytes: entry.bytes });
    return true;
  }

  /** The load of `model` failed: every request waiting for it (and its followers) is refused with model_load_failed. */
  private failLoad(model: string, message: string, nowMs: number): void {
    this.loads.end(model);
    if (this.workers.idsOf(model).length > 0) return; // another worker holds it now: the requests run there
    const waiting = [...this.requests.values()].filter((t) => t.req.model === model && (t.phase === 'queued' || t.phase === 'waiting'));
    for (const t of waiting) this.rejectJob(t, 'model_load_failed', nowMs, message);
  }

  /** Removes a job whose client left and that has no followers. */
  private dropJob(t: Tracked, nowMs: number, cancelOnWorker: boolean): void {
    this.requests.delete(t.req.id);
    if (t.phase === 'waiting') {
      this.batcher.remove(t.req.id);
      this.waitingCount--;
    } else if (t.phase === 'queued') {
      this.queues.left(t.req.model); // its id stays in the FIFO and is skipped when it reaches the head
    } else if (t.phase === 'running' && t.workerId !== undefined) {
      const w = this.workers.get(t.workerId);
      if (cancelOnWorker) this.out.push({ type: 'cancel', workerId: t.workerId, requestId: t.req.id });
      this.leaveWorker(t, w, nowMs);
      this.drainQueues(nowMs);
    }
    if (t.fp !== undefined) this.coalescer.end(t.req.id);
  }

  /** Ends the coalescing group led by t; returns the followers (removed from tracking). */
  private endGroup(t: Tracked): readonly Tracked[] {
    if (t.fp === undefined) return NO_FOLLOWERS;
    const out: Tracked[] = [];
    for (const id of this.coalescer.end(t.req.id)) {
      const f = this.requests.get(id);
      if (f === undefined) continue;
      this.requests.delete(id);
      out.push(f);
    }
    return out;
  }

  private recipientsOf(t: Tracked): readonly RequestId[] {
    if (t.recipients === undefined) {
      const r = t.clientGone ? [] : [t.req.id];
      if (t.fp !== undefined) for (const f of this.coalescer.followers(t.req.id)) r.push(f);
      t.recipients = r;
    }
    return t.recipients;
  }

  private invalidateRecipients(leaderId: RequestId): void {
    const l = this.requests.get(leaderId);
    if (l !== undefined) l.recipients = undefined;
  }

  private drainQueues(nowMs: number): void {
    if (this.queues.count === 0) return;
    const groups = new Map<WorkerId, InferenceRequest[]>();
    for (const q of this.queues.fifosOfAllModels()) {
      while (q.size > 0) {
        const t = this.requests.get(q.peek()!);
        if (t === undefined || t.phase !== 'queued') {
          q.shift();
          continue;
        }
        const w = this.route(t, nowMs);
        if (w === undefined) break;
        q.shift();
        this.queues.left(t.req.model);
        this.startOn(t, w, nowMs);
        let g = groups.get(w.view.id);
        if (g === undefined) groups.set(w.view.id, (g = []));
        g.push(t.req);
      }
    }
    this.emitDispatches(groups);
  }

  private fire(timer: Timer, nowMs: number): void {
    switch (timer.kind) {
      case 'batch':
        return; // releaseDueBatches / drainQueues run after every timer batch
      case 'breaker':
      case 'heartbeat': {
        const w = this.workers.get(timer.id);
        if (w !== undefined) this.workers.refresh(w, nowMs);
        return;
      }
      case 'retry': {
        const t = this.requests.get(timer.id);
        if (t === undefined || t.phase !== 'backoff') return;
        if (t.preferred === undefined) {
          const model = this.canary.retryTarget(t.req.model, (m) => this.workers.anyAccepting(m, nowMs));
          if (model !== t.req.model) t.req = { ...t.req, model };
        }
        this.enterWaiting(t, nowMs);
        return;
      }
      case 'queue': {
        const t = this.requests.get(timer.id);
        if (t === undefined || t.phase !== 'queued' || nowMs - t.phaseSinceMs < this.config.admission.queueTimeoutMs) return;
        this.rejectJob(t, 'queue_timeout', nowMs);
        return;
      }
      case 'progress':
        return this.checkProgress(timer.id, nowMs);
      case 'follower': {
        const f = this.requests.get(timer.id);
        if (f === undefined || f.phase !== 'following') return;
        const leader = this.requests.get(f.leaderId!);
        if (leader !== undefined && leader.tokensSent > 0) return; // already streaming to it: stay
        this.coalescer.detach(f.leaderId!, f.req.id);
        this.invalidateRecipients(f.leaderId!);
        this.out.push({ type: 'detachFollower', leaderId: f.leaderId!, followerId: f.req.id });
        f.leaderId = undefined;
        this.enterWaiting(f, nowMs);
        return;
      }
    }
  }

  /**
   * The no-progress watchdog of one worker. A request waiting behind others on a live worker is
   * queued, not failed: its deadline counts from the later of its own progress (dispatch, tokens) and
   * anything heard from its worker (events, statuses). Requests past it are cancelled there and
   * retried or failed; the breaker hears of the timeout once. One timer per worker, re-armed for the
   * earliest remaining deadline.
   */
  private checkProgress(workerId: WorkerId, nowMs: number): void {
    const w = this.workers.get(workerId);
    if (w === undefined) return;
    w.progressTimerArmed = false;
    const { timedOut, nextMs } = overdue(w.running, w.lastSeenMs, this.config.breaker.timeoutMs, nowMs);
    if (timedOut !== undefined) {
      w.breaker.onTimeout(nowMs);
      this.wakeWhenBreakerCools(w, nowMs);
      for (const t of timedOut) {
        this.out.push({ type: 'cancel', workerId, requestId: t.req.id });
        this.leaveWorker(t, w, nowMs);
        this.failAttempt(t, 'timeout', nowMs);
      }
    }
    if (nextMs !== Number.POSITIVE_INFINITY && !w.progressTimerArmed) {
      w.progressTimerArmed = true;
      this.arm(nextMs, 'progress', workerId);
    }
  }

  /** An open breaker turns half-open after its cooldown: wake then so queued work can probe it. */
  private wakeWhenBreakerCools(w: WorkerState, nowMs: number): void {
    const at = w.breaker.halfOpensAtMs(nowMs);
    if (at !== undefined && this.config.breaker.enabled) this.arm(at, 'breaker', w.view.id);
  }

  private arm(atMs: number, kind: TimerKind, id: string): void {
    this.timers.arm(atMs, kind, id);
  }

  /** No worker of the model can take a request now or before a queued one would time out (worker-table.ts). */
  private noHealthyWorker(model: string, nowMs: number): boolean {
    return this.workers.noHealthyWorker(model, nowMs, this.config.admission.queueTimeoutMs);
  }

  /**
   * A Retry-After hint for capacity refusals: the time `model`'s queue needs to move — the wait
   * predicted from its drain rate (the same prediction early refusal uses), or, before that is
   * known, one second per round of the cluster's slots.
   */
  private retryAfterEstimateMs(model: string, nowMs: number): number {
    const predicted = this.queues.predictedWaitMs(model, nowMs);
    if (predicted !== undefined) return clampRetryAfterMs(predicted);
    const slots = this.workers.slots();
    const backlog = this.queues.count + this.waitingCount;
    return clampRetryAfterMs(Math.ceil(backlog / Math.max(1, slots)) * 1000);
  }


  private finishReject(requestId: RequestId, code: ErrorCode, _nowMs: number, retryAfterMs?: number): Command[] {
    this.emitReject(requestId, code, retryAfterMs);
    return this.flush();
  }

  private emitReject(requestId: RequestId, code: ErrorCode, retryAfterMs?: number, message?: string): void {
    this.outcomes.count('rejected');
    this.outcomes.countCode(code);
    const e = ERRORS[code];
    this.out.push({ type: 'reject', requestId, status: e.status, code, message: message ?? e.message, ...(retryAfterMs !== undefined && { retryAfterMs: Math.ceil(retryAfterMs) }) });
  }

  private emitFail(t: Tracked, code: ErrorCode, tokensSent = t.tokensSent, message?: string): void {
    this.outcomes.count(code === 'client_cancelled' ? 'cancelled' : 'failed');
    this.outcomes.countCode(code);
    const e = ERRORS[code];
    this.out.push({ type: 'fail', requestId: t.req.id, status: e.status, code, message: message ?? e.message, tokensSent });
  }

  /** Returns the commands collected during this event, plus a wakeAt if an earlier timer is due. */
  private flush(extra?: Command[]): Command[] {
    if (extra !== undefined) this.out.push(...extra);
    const wakeAtMs = this.timers.wakeToRequest();
    if (wakeAtMs !== undefined) this.out.push({ type: 'wakeAt', atMs: wakeAtMs });
    const out = this.out;
    this.out = [];
    return out;
  }
}

/** Retry-After hints stay within [1 s, 60 s]. */
function clampRetryAfterMs(ms: number): number {
  return Math.min(60_000, Math.max(1000, Math.ceil(ms)));
}

