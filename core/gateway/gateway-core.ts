// The gateway core: a sans-IO state machine that composes every policy. Events in, commands out
// (messages.ts). The simulator and the live gateway drive this same code; neither makes a serving
// decision of its own.
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
import { AdaptiveLimit, msPerToken } from '../admission/adaptive-limit.js';
import { DrainRate } from '../admission/drain-rate.js';
import { createBatcher } from '../batching/factory.js';
import type { Batcher } from '../batching/batcher.js';
import { CircuitBreaker, type BreakerState } from '../breaker/circuit-breaker.js';
import { Coalescer } from '../caching/coalescer.js';
import { fingerprint, isShareable } from '../caching/fingerprint.js';
import { ResponseStore } from '../caching/response-store.js';
import type { GatewayConfig } from '../config/types.js';
import { ERRORS, type ErrorCode } from '../errors.js';
import { HeartbeatTracker } from '../health/heartbeat.js';
import { RateLimiter } from '../limits/rate-limiter.js';
import { isRoutable, type CandidateState } from '../routing/candidates.js';
import { createRoutingPolicy } from '../routing/factory.js';
import { leastLoaded, type RoutingPolicy, type WorkerView } from '../routing/policy.js';
import { RetryPolicy } from '../retry/retry-policy.js';
import type { InferenceRequest, RequestId, Rng, WorkerId } from '../types.js';
import { invariant } from '../util/assert.js';
import { Fifo } from '../util/fifo.js';
import { MinHeap } from '../util/min-heap.js';
import type { Command, GatewayEvent, WorkerEvent, WorkerStatus } from './messages.js';
import { OutcomeCounters } from './outcomes.js';

/** waiting: in the batcher · routing: released by it, being placed · queued: no free worker yet. */
type Phase = 'waiting' | 'routing' | 'queued' | 'backoff' | 'running' | 'following';

interface Tracked {
  readonly req: InferenceRequest;
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
  recipients: RequestId[] | undefined;
}

interface WorkerState extends CandidateState {
  readonly view: MutableView;
  models: ReadonlySet<string>;
  healthy: boolean;
  draining: boolean;
  breakerAllows: boolean;
  readonly breaker: CircuitBreaker;
  readonly heartbeat: HeartbeatTracker;
  reportedMaxConcurrent: number;
  /** min(admission.maxConcurrentPerWorker, reportedMaxConcurrent); view.maxConcurrent is this or the adaptive limit below it. */
  staticMaxConcurrent: number;
  /** admission.adaptive.enabled: the AIMD limit of this worker. */
  readonly limiter: AdaptiveLimit | undefined;
  /** `healthy` and `breakerAllows` hold until this time unless an event touches the worker. */
  validUntilMs: number;
  /** Last time the worker said anything (a stream event or a status): it is alive, if busy. */
  lastSeenMs: number;
  /** Member of routableByModel (isRoutable, as of the last refresh). */
  routable: boolean;
  /** Jobs running on this worker now; the progress watchdog checks them. */
  readonly running: Set<Tracked>;
  /** A 'progress' timer for this worker is pending (one per worker, not one per request). */
  progressTimerArmed: boolean;
}

interface MutableView extends WorkerView {
  inFlight: number;
  maxConcurrent: number;
  kvUsedFraction: number;
}

type TimerKind = 'batch' | 'retry' | 'queue' | 'progress' | 'follower' | 'heartbeat' | 'breaker';
interface Timer {
  readonly atMs: number;
  readonly seq: number;
  readonly kind: TimerKind;
  readonly id: string;
}

export interface WorkerInfo {
  readonly id: WorkerId;
  readonly models: readonly string[];
  readonly healthy: boolean;
  readonly draining: boolean;
  readonly breaker: BreakerState;
  readonly inFlight: number;
  /** The gateway's limit on this worker now: min(staticMaxConcurrent, the adaptive limit when enabled). */
  readonly maxConcurrent: number;
  /** min(admission.maxConcurrentPerWorker, what the worker reports): the limit without adaptation (optional: older fixtures omit it). */
  readonly staticMaxConcurrent?: number;
  /** The adaptive (AIMD) limit, when admission.adaptive is enabled. */
  readonly adaptiveLimit?: number;
  readonly kvUsedFraction: number;
}

export class GatewayCore {
  private readonly requests = new Map<RequestId, Tracked>();
  private readonly workers = new Map<WorkerId, WorkerState>();
  private readonly workerIdsByModel = new Map<string, WorkerId[]>();
  private readonly workersByModel = new Map<string, WorkerState[]>();
  /**
   * Per model, the views of the workers that may take a request now, sorted by id. Kept up to date
   * eagerly (every event that can change a worker's routability refreshes it, and timers fire at
   * heartbeat deadlines and breaker cooldowns), so a routing decision does not scan every worker.
   */
  private readonly routableByModel = new Map<string, WorkerView[]>();
  /** The same routable workers per model, by id (RoutingContext.candidatesById). */
  private readonly routableIndexByModel = new Map<string, Map<WorkerId, WorkerView>>();
  /** Per-model FIFO of queued request ids; entries of requests that left are skipped lazily. */
  private readonly queues = new Map<string, Fifo<RequestId>>();
  private queuedCount = 0;
  /** Per model: requests queued (live ones), and how fast its requests finish on workers. */
  private readonly queuedByModel = new Map<string, number>();
  private readonly drainRates = new Map<string, DrainRate>();
  private waitingCount = 0;
  private readonly timers = new MinHeap<Timer>((a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq));
  private timerSeq = 0;
  private wakeRequestedMs: number | undefined;
  private batchTimerAtMs: number | undefined;
  private out: Command[] = [];

  readonly routing: RoutingPolicy;
  readonly batcher: Batcher;
  readonly dedupe: ResponseStore;
  readonly cache: ResponseStore;
  readonly coalescer: Coalescer;
  readonly retry: RetryPolicy;
  private readonly rateLimiter: RateLimiter;
  readonly outcomes = new OutcomeCounters();

  constructor(
    readonly config: GatewayConfig,
    private readonly rng: Rng,
  ) {
    this.routing = createRoutingPolicy(config.routing);
    this.batcher = createBatcher(config.batching);
    const c = config.caching;
    this.dedupe = new ResponseStore({ entriesMax: c.dedupe.entriesMax, ttlMs: c.dedupe.ttlMs });
    this.cache = new ResponseStore({ entriesMax: c.responseCache.entriesMax, ttlMs: c.responseCache.ttlMs });
    this.coalescer = new Coalescer({ followersMax: c.coalescing.followersMax, groupsMax: c.coalescing.groupsMax });
    this.retry = new RetryPolicy(config.retry);
    this.rateLimiter = new RateLimiter(config.rateLimit);
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
      case 'timerFired':
        return this.onTimer(nowMs);
    }
  }

  // ───────────────────────────── events ─────────────────────────────

  onRequestArrived(req: InferenceRequest, nowMs: number): Command[] {
    this.outcomes.arrived++;
    invariant(!this.requests.has(req.id), `request id ${req.id} arrived twice`);
    if (this.requests.size >= this.config.requestsInFlightMax) return this.finishReject(req.id, 'overloaded', nowMs, 1000);
    const workerIds = this.workerIdsByModel.get(req.model);
    if (workerIds === undefined || workerIds.length === 0) return this.finishReject(req.id, 'model_not_found', nowMs);
    if (this.config.rateLimit.enabled && req.apiKey !== undefined) {
      const d = this.rateLimiter.check(req.apiKey, req.promptTokens, nowMs);
      if (!d.ok) return this.finishReject(req.id, 'rate_limited', nowMs, d.retryAfterMs);
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
    if (this.noHealthyWorker(req.model, nowMs)) return this.finishReject(req.id, 'no_healthy_worker', nowMs, this.cooldownLeftMs(req.model, nowMs));
    const t: Tracked = {
      req, arrivedAtMs: nowMs, fp, phase: 'waiting', attempt: 0, workerId: undefined, dispatchedAtMs: 0, firstTokenAtMs: undefined, lastProgressMs: nowMs,
      phaseSinceMs: nowMs, tokensSent: 0, clientGone: false, leaderId: undefined, excluded: undefined, recipients: undefined,
    };
    if (fp !== undefined && caching.coalescing.enabled) {
      const j = this.coalescer.join(fp, req.id);
      if (j.role === 'follower') {
        t.phase = 'following';
        t.leaderId = j.leaderId;
        this.requests.set(req.id, t);
        const leader = this.requests.get(j.leaderId)!;
        leader.recipients = undefined;
        this.out.push({ type: 'attachFollower', leaderId: j.leaderId, followerId: req.id });
        this.arm(nowMs + caching.coalescing.followerTimeoutMs, 'follower', req.id);
        return this.flush();
      }
    }
    if (this.queuedCount + this.waitingCount >= this.config.admission.queueMax) {
      if (fp !== undefined) this.coalescer.end(req.id);
      return this.finishReject(req.id, 'queue_full', nowMs, this.retryAfterEstimateMs(req.model, nowMs));
    }
    this.requests.set(req.id, t);
    this.enterWaiting(t, nowMs);
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
    if (ev.kind === 'tokens') {
      t.firstTokenAtMs ??= nowMs;
      // Tokens count as sent once a streaming client may have received them; a non-streaming
      // client sees nothing until the end, so its job stays retryable.
      if (t.req.stream || this.coalescer.followers(t.req.id).size > 0) t.tokensSent += ev.tokens;
      const recipients = this.recipientsOf(t);
      if (recipients.length > 0) this.out.push({ type: 'deliver', jobId: t.req.id, recipients, event: ev });
      return this.flush();
    }
    const w = this.workers.get(ev.workerId);
    this.leaveWorker(t, w, nowMs);
    if (ev.kind === 'done') {
      this.drainRateOf(t.req.model).record(nowMs);
      w?.breaker.onSuccess(nowMs);
      if (w?.limiter !== undefined) this.observeLatency(w, w.limiter, t, ev.output.completionTokens, nowMs);
      this.touch(w, nowMs);
      this.retry.onSuccess();
      const latencyMs = nowMs - t.dispatchedAtMs;
      this.routing.onRequestComplete?.(ev.workerId, t.req, latencyMs, nowMs);
      this.batcher.observeServiceMs?.(t.req.model, latencyMs / Math.max(1, w?.view.inFlight ?? 1));
      const o = ev.output;
      if (t.fp !== undefined) {
        const answer = { ...(o.text !== undefined && { text: o.text }), ...(o.logprobs !== undefined && { logprobs: o.logprobs }), promptTokens: o.promptTokens, completionTokens: o.completionTokens, finishReason: o.finishReason };
        if (this.config.caching.dedupe.enabled) this.dedupe.set(t.fp, answer, nowMs);
        if (this.config.caching.responseCache.enabled) this.cache.set(t.fp, answer, nowMs);
      }
      if (this.config.rateLimit.enabled && t.req.apiKey !== undefined) this.rateLimiter.charge(t.req.apiKey, o.completionTokens, nowMs);
      const recipients = this.recipientsOf(t);
      if (recipients.length > 0) this.out.push({ type: 'deliver', jobId: t.req.id, recipients, event: ev });
      const usage = { promptTokens: o.promptTokens, completionTokens: o.completionTokens };
      this.requests.delete(t.req.id);
      if (!t.clientGone) {
        this.outcomes.count('served');
        this.out.push({ type: 'complete', requestId: t.req.id, usage, via: 'worker' });
      }
      for (const f of this.endGroup(t)) {
        this.outcomes.count('coalesced');
        this.outcomes.tokensSaved += o.completionTokens;
        this.out.push({ type: 'complete', requestId: f.req.id, usage, via: 'coalesced' });
      }
    } else {
      w?.breaker.onFailure(nowMs);
      if (w !== undefined) this.wakeWhenBreakerCools(w, nowMs);
      this.touch(w, nowMs);
      this.failAttempt(t, ev.failure.clientFault === true ? 'client' : 'worker', nowMs);
    }
    this.drainQueues(nowMs);
    return this.flush();
  }

  onWorkerStatus(s: WorkerStatus, nowMs: number): Command[] {
    let w = this.workers.get(s.workerId);
    if (w === undefined) {
      w = {
        view: { id: s.workerId, inFlight: 0, maxConcurrent: 0, kvUsedFraction: 0 },
        models: new Set(), healthy: true, draining: false, breakerAllows: true,
        breaker: new CircuitBreaker(this.config.breaker),
        heartbeat: new HeartbeatTracker({ intervalMs: this.config.health.heartbeatIntervalMs, missesMax: this.config.health.missesMax }, nowMs),
        reportedMaxConcurrent: 0,
        staticMaxConcurrent: 0,
        limiter: this.config.admission.adaptive.enabled ? new AdaptiveLimit(this.config.admission.adaptive, this.config.admission.maxConcurrentPerWorker) : undefined,
        validUntilMs: Number.NEGATIVE_INFINITY,
        lastSeenMs: nowMs,
        routable: false,
        running: new Set(),
        progressTimerArmed: false,
      };
      this.workers.set(s.workerId, w);
    }
    const modelsBefore = w.models;
    w.models = new Set(s.models);
    if (!sameSet(modelsBefore, w.models)) this.reindexModels();
    w.reportedMaxConcurrent = s.maxConcurrent;
    w.staticMaxConcurrent = Math.min(s.maxConcurrent, this.config.admission.maxConcurrentPerWorker);
    w.limiter?.capTo(w.staticMaxConcurrent);
    w.view.maxConcurrent = w.limiter === undefined ? w.staticMaxConcurrent : Math.min(w.staticMaxConcurrent, w.limiter.limit);
    w.view.kvUsedFraction = s.kvCapacityBytes > 0 ? s.kvUsedBytes / s.kvCapacityBytes : 0;
    w.draining = s.draining;
    w.heartbeat.onHeartbeat(s.healthy, nowMs);
    w.lastSeenMs = nowMs;
    w.breaker.onHealthCheck(s.healthy, nowMs);
    this.wakeWhenBreakerCools(w, nowMs);
    this.touch(w, nowMs);
    this.arm(w.heartbeat.deadlineMs(), 'heartbeat', s.workerId);
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
    this.workers.delete(workerId);
    this.routing.onWorkerRemoved?.(workerId);
    this.reindexModels();
    this.drainQueues(nowMs);
    return this.flush();
  }

  onTimer(nowMs: number): Command[] {
    if (this.wakeRequestedMs !== undefined && nowMs >= this.wakeRequestedMs) this.wakeRequestedMs = undefined;
    for (let top = this.timers.peek(); top !== undefined && top.atMs <= nowMs; top = this.timers.peek()) {
      this.timers.pop();
      this.fire(top, nowMs);
    }
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
    this.touch(w, nowMs);
    return true;
  }

  flushCaches(): { dedupe: number; cache: number } {
    return { dedupe: this.dedupe.flush(), cache: this.cache.flush() };
  }

  workerInfo(nowMs: number): WorkerInfo[] {
    return [...this.workers.values()].map((w) => ({
      id: w.view.id, models: [...w.models], healthy: w.heartbeat.healthy(nowMs), draining: w.draining,
      breaker: w.breaker.state(nowMs), inFlight: w.view.inFlight, maxConcurrent: w.view.maxConcurrent,
      staticMaxConcurrent: w.staticMaxConcurrent, ...(w.limiter !== undefined && { adaptiveLimit: w.limiter.limit }), kvUsedFraction: w.view.kvUsedFraction,
    }));
  }

  /**
   * The worker for a one-shot call the core does not track (embeddings): the least-loaded routable
   * worker of the model, else the least-loaded one that is only full. The same health, draining and
   * breaker rules as generation, so live and sim agree on where such calls may go.
   */
  pickForOneShot(model: string, nowMs: number): { readonly ok: true; readonly workerId: WorkerId } | { readonly ok: false; readonly code: 'model_not_found' | 'no_healthy_worker' } {
    const states = this.workersByModel.get(model);
    if (states === undefined || states.length === 0) return { ok: false, code: 'model_not_found' };
    for (const w of states) this.refreshWorker(w, nowMs);
    const routable = this.routableByModel.get(model) ?? NO_VIEWS;
    const picked = leastLoaded(routable.length > 0 ? routable : states.filter((w) => w.healthy && !w.draining && w.breakerAllows).map((w) => w.view));
    return picked === undefined ? { ok: false, code: 'no_healthy_worker' } : { ok: true, workerId: picked.id };
  }

  /** Models with at least one healthy, non-draining worker (readiness). */
  readyModels(nowMs: number): string[] {
    const out: string[] = [];
    for (const model of this.workerIdsByModel.keys()) if (!this.noHealthyWorker(model, nowMs)) out.push(model);
    return out.sort();
  }

  /** Requests tracked now, by phase. */
  activeByPhase(): Record<Phase, number> {
    const r: Record<Phase, number> = { waiting: 0, routing: 0, queued: 0, backoff: 0, running: 0, following: 0 };
    for (const t of this.requests.values()) r[t.phase]++;
    return r;
  }

  activeCount(): number {
    return this.requests.size;
  }

  // ───────────────────────────── internals ─────────────────────────────

  private enterWaiting(t: Tracked, nowMs: number): void {
    t.phase = 'waiting';
    t.phaseSinceMs = nowMs;
    this.waitingCount++;
    this.batcher.add(t.req, nowMs);
  }

  private releaseDueBatches(nowMs: number): void {
    const batches = this.batcher.takeDue(nowMs);
    if (batches.length > 0) {
      const groups = new Map<WorkerId, InferenceRequest[]>();
      for (const batch of batches) {
        for (const req of batch) {
          this.waitingCount--;
          const t = this.requests.get(req.id);
          invariant(t !== undefined && t.phase === 'waiting', `batched request ${req.id} is not waiting`);
          t.phase = 'routing';
          this.placeOrQueue(t, nowMs, groups);
        }
      }
      this.emitDispatches(groups);
    }
    const due = this.batcher.nextDueMs();
    if (due !== undefined && due !== this.batchTimerAtMs) {
      this.batchTimerAtMs = due;
      this.arm(Math.max(due, nowMs), 'batch', '');
    }
  }

  /** Routes the request to a worker (added to `groups`) or queues it at the gateway. */
  private placeOrQueue(t: Tracked, nowMs: number, groups: Map<WorkerId, InferenceRequest[]>): void {
    if ((this.workerIdsByModel.get(t.req.model)?.length ?? 0) === 0) {
      // The model left the cluster while this request waited (unloaded, workers removed).
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
      const waitMs = this.predictedQueueWaitMs(t.req.model, nowMs);
      if (waitMs !== undefined && waitMs > refusalFactor * this.config.admission.queueTimeoutMs) {
        this.rejectJob(t, 'queue_full', nowMs);
        return;
      }
    }
    t.phase = 'queued';
    t.phaseSinceMs = nowMs;
    let q = this.queues.get(t.req.model);
    if (q === undefined) this.queues.set(t.req.model, (q = new Fifo()));
    q.push(t.req.id);
    this.queuedCount++;
    this.queuedByModel.set(t.req.model, (this.queuedByModel.get(t.req.model) ?? 0) + 1);
    this.arm(nowMs + this.config.admission.queueTimeoutMs, 'queue', t.req.id);
  }

  private route(t: Tracked, nowMs: number): WorkerState | undefined {
    const ids = this.workerIdsByModel.get(t.req.model) ?? NO_IDS;
    let candidates = this.routableByModel.get(t.req.model) ?? NO_VIEWS;
    let candidatesById = this.routableIndexByModel.get(t.req.model);
    if (t.excluded !== undefined && candidates.length > 1) {
      // A retry avoids the workers that failed it, unless no other worker is routable.
      const excluded = t.excluded;
      const others = candidates.filter((v) => !excluded.has(v.id));
      if (others.length > 0) {
        candidates = others;
        candidatesById = undefined;
      }
    }
    const picked = this.routing.pick(t.req, candidates, { nowMs, rng: this.rng, allWorkerIds: ids, ...(candidatesById !== undefined && { candidatesById }) });
    return picked === undefined ? undefined : this.workers.get(picked.id);
  }

  /**
   * Recomputes a worker's health and breaker admission when they may have changed: after its
   * heartbeat deadline or breaker cooldown, or after an event touched it (validUntilMs reset).
   * Routing reads the cached flags, so a pick over 100 workers does not re-derive 100 states.
   */
  private refreshWorker(w: WorkerState, nowMs: number): void {
    if (nowMs < w.validUntilMs) return;
    w.healthy = w.heartbeat.healthy(nowMs);
    w.breakerAllows = !this.config.breaker.enabled || w.breaker.allows(nowMs);
    const state = w.breaker.state(nowMs);
    const breakerUntil = state === 'closed' ? Number.POSITIVE_INFINITY : state === 'open' ? w.breaker.halfOpensAtMs(nowMs)! : nowMs;
    w.validUntilMs = Math.min(w.healthy ? w.heartbeat.deadlineMs() : Number.POSITIVE_INFINITY, breakerUntil);
    this.syncRoutable(w);
  }

  /** Something about the worker changed (load, status, breaker): recompute its routability now. */
  private touch(w: WorkerState | undefined, nowMs: number): void {
    if (w === undefined) return;
    w.validUntilMs = Number.NEGATIVE_INFINITY;
    this.refreshWorker(w, nowMs);
  }

  private syncRoutable(w: WorkerState): void {
    const r = isRoutable(w);
    if (r === w.routable) return;
    w.routable = r;
    for (const m of w.models) {
      let list = this.routableByModel.get(m);
      if (list === undefined) this.routableByModel.set(m, (list = []));
      let index = this.routableIndexByModel.get(m);
      if (index === undefined) this.routableIndexByModel.set(m, (index = new Map()));
      if (r) index.set(w.view.id, w.view);
      else index.delete(w.view.id);
      if (r) {
        let i = list.length;
        while (i > 0 && list[i - 1]!.id > w.view.id) i--;
        list.splice(i, 0, w.view);
      } else {
        const i = list.indexOf(w.view);
        if (i >= 0) list.splice(i, 1);
      }
    }
  }

  private startOn(t: Tracked, w: WorkerState, nowMs: number): void {
    t.phase = 'running';
    t.phaseSinceMs = nowMs;
    t.workerId = w.view.id;
    t.attempt++;
    t.dispatchedAtMs = nowMs;
    t.firstTokenAtMs = undefined;
    t.lastProgressMs = nowMs;
    w.view.inFlight++;
    w.breaker.onDispatch(nowMs);
    this.touch(w, nowMs);
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
    if (w !== undefined) {
      w.view.inFlight--;
      w.running.delete(t);
    }
    this.touch(w, nowMs);
  }

  /** An attempt failed (worker error, timeout, worker gone). Retry, or fail the job and its followers. */
  private failAttempt(t: Tracked, fault: 'worker' | 'client' | 'timeout', nowMs: number): void {
    const failedOn = t.workerId;
    if (fault !== 'client') {
      const d = this.retry.decide(t.attempt, t.tokensSent, this.rng);
      if (d.retry) {
        this.outcomes.retries++;
        t.phase = 'backoff';
        t.phaseSinceMs = nowMs;
        if (failedOn !== undefined) (t.excluded ??= new Set()).add(failedOn);
        this.arm(nowMs + d.delayMs, 'retry', t.req.id);
        return;
      }
    }
    const code: ErrorCode = fault === 'timeout' ? 'worker_timeout' : 'worker_error';
    this.requests.delete(t.req.id);
    if (!t.clientGone) this.emitFail(t, code);
    for (const f of this.endGroup(t)) this.emitFail(f, code, t.tokensSent);
  }

  /** Refuses a job that never ran to completion, and its followers, with the same code. */
  private rejectJob(t: Tracked, code: ErrorCode, nowMs: number): void {
    const followers = this.endGroup(t);
    this.dropJob(t, nowMs, false);
    const retryAfterMs = code === 'model_not_found' ? undefined : this.retryAfterEstimateMs(t.req.model, nowMs);
    if (!t.clientGone) this.emitReject(t.req.id, code, retryAfterMs);
    for (const f of followers) this.emitReject(f.req.id, code, retryAfterMs);
  }

  /** Removes a job whose client left and that has no followers. */
  private dropJob(t: Tracked, nowMs: number, cancelOnWorker: boolean): void {
    this.requests.delete(t.req.id);
    if (t.phase === 'waiting') {
      this.batcher.remove(t.req.id);
      this.waitingCount--;
    } else if (t.phase === 'queued') {
      this.queuedCount--; // its id stays in the FIFO and is skipped when it reaches the head
      this.queuedByModel.set(t.req.model, this.queuedByModel.get(t.req.model)! - 1);
    } else if (t.phase === 'running' && t.workerId !== undefined) {
      const w = this.workers.get(t.workerId);
      if (cancelOnWorker) this.out.push({ type: 'cancel', workerId: t.workerId, requestId: t.req.id });
      this.leaveWorker(t, w, nowMs);
      this.drainQueues(nowMs);
    }
    if (t.fp !== undefined) this.coalescer.end(t.req.id);
  }

  /** Ends the coalescing group led by t; returns the followers (removed from tracking). */
  private endGroup(t: Tracked): Tracked[] {
    if (t.fp === undefined) return [];
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
    if (this.queuedCount === 0) return;
    const groups = new Map<WorkerId, InferenceRequest[]>();
    for (const q of this.queues.values()) {
      while (q.size > 0) {
        const t = this.requests.get(q.peek()!);
        if (t === undefined || t.phase !== 'queued') {
          q.shift();
          continue;
        }
        const w = this.route(t, nowMs);
        if (w === undefined) break;
        q.shift();
        this.queuedCount--;
        this.queuedByModel.set(t.req.model, this.queuedByModel.get(t.req.model)! - 1);
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
        if (w !== undefined) this.refreshWorker(w, nowMs);
        return;
      }
      case 'retry': {
        const t = this.requests.get(timer.id);
        if (t === undefined || t.phase !== 'backoff') return;
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
    const timeoutMs = this.config.breaker.timeoutMs;
    let nextMs = Number.POSITIVE_INFINITY;
    let timedOut: Tracked[] | undefined;
    for (const t of w.running) {
      const deadline = Math.max(t.lastProgressMs, w.lastSeenMs) + timeoutMs;
      if (deadline <= nowMs) (timedOut ??= []).push(t);
      else nextMs = Math.min(nextMs, deadline);
    }
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
    this.timers.push({ atMs, seq: this.timerSeq++, kind, id });
  }

  /**
   * No worker of the model can take this request now or soon. A live worker whose breaker is open
   * counts as "soon" when it half-opens before a queued request would time out: the request waits
   * in the queue for the probes (the breaker timer wakes the core then) instead of failing at once.
   * Without that, the breaker opening on a model's only worker turned every request into a 503 for
   * the whole cooldown, though the worker may have recovered already.
   */
  private noHealthyWorker(model: string, nowMs: number): boolean {
    for (const id of this.workerIdsByModel.get(model) ?? []) {
      const w = this.workers.get(id)!;
      this.refreshWorker(w, nowMs);
      if (!w.healthy || w.draining) continue;
      if (w.breakerAllows || w.view.inFlight > 0) return false;
      const at = w.breaker.halfOpensAtMs(nowMs);
      if (at !== undefined && at - nowMs <= this.config.admission.queueTimeoutMs) return false;
    }
    return true;
  }

  private cooldownLeftMs(model: string, nowMs: number): number {
    let best = this.config.health.heartbeatIntervalMs;
    for (const id of this.workerIdsByModel.get(model) ?? []) {
      const w = this.workers.get(id)!;
      const at = w.breaker.halfOpensAtMs(nowMs);
      if (at !== undefined) best = Math.min(best, Math.max(1000, at - nowMs));
    }
    return best;
  }

  private drainRateOf(model: string): DrainRate {
    let r = this.drainRates.get(model);
    if (r === undefined) this.drainRates.set(model, (r = new DrainRate(DRAIN_BUCKET_MS, DRAIN_BUCKETS, DRAIN_SAMPLES_MIN)));
    return r;
  }

  /** How long a request joining `model`'s queue now would wait, from its drain rate; undefined when unknown. */
  private predictedQueueWaitMs(model: string, nowMs: number): number | undefined {
    const perS = this.drainRates.get(model)?.perSecond(nowMs);
    if (perS === undefined || perS <= 0) return undefined;
    return (((this.queuedByModel.get(model) ?? 0) + 1) / perS) * 1000;
  }

  /**
   * A Retry-After hint for capacity refusals: the time `model`'s queue needs to move — the wait
   * predicted from its drain rate (the same prediction early refusal uses), or, before that is
   * known, one second per round of the cluster's slots.
   */
  private retryAfterEstimateMs(model: string, nowMs: number): number {
    const predicted = this.predictedQueueWaitMs(model, nowMs);
    if (predicted !== undefined) return clampRetryAfterMs(predicted);
    let slots = 0;
    for (const w of this.workers.values()) slots += w.view.maxConcurrent;
    const backlog = this.queuedCount + this.waitingCount;
    return clampRetryAfterMs(Math.ceil(backlog / Math.max(1, slots)) * 1000);
  }


  private reindexModels(): void {
    this.workerIdsByModel.clear();
    this.workersByModel.clear();
    this.routableByModel.clear();
    this.routableIndexByModel.clear();
    const ids = [...this.workers.keys()].sort();
    for (const id of ids) {
      const w = this.workers.get(id)!;
      for (const m of w.models) {
        let list = this.workerIdsByModel.get(m);
        if (list === undefined) this.workerIdsByModel.set(m, (list = []));
        list.push(id);
        let states = this.workersByModel.get(m);
        if (states === undefined) this.workersByModel.set(m, (states = []));
        states.push(w);
        let views = this.routableByModel.get(m);
        if (views === undefined) this.routableByModel.set(m, (views = []));
        if (w.routable) views.push(w.view);
        let index = this.routableIndexByModel.get(m);
        if (index === undefined) this.routableIndexByModel.set(m, (index = new Map()));
        if (w.routable) index.set(id, w.view);
      }
    }
  }

  private finishReject(requestId: RequestId, code: ErrorCode, _nowMs: number, retryAfterMs?: number): Command[] {
    this.emitReject(requestId, code, retryAfterMs);
    return this.flush();
  }

  private emitReject(requestId: RequestId, code: ErrorCode, retryAfterMs?: number): void {
    this.outcomes.count('rejected');
    this.outcomes.countCode(code);
    const e = ERRORS[code];
    this.out.push({ type: 'reject', requestId, status: e.status, code, message: e.message, ...(retryAfterMs !== undefined && { retryAfterMs: Math.ceil(retryAfterMs) }) });
  }

  private emitFail(t: Tracked, code: ErrorCode, tokensSent = t.tokensSent): void {
    this.outcomes.count(code === 'client_cancelled' ? 'cancelled' : 'failed');
    this.outcomes.countCode(code);
    const e = ERRORS[code];
    this.out.push({ type: 'fail', requestId: t.req.id, status: e.status, code, message: e.message, tokensSent });
  }

  /** Returns the commands collected during this event, plus a wakeAt if an earlier timer is due. */
  private flush(extra?: Command[]): Command[] {
    if (extra !== undefined) this.out.push(...extra);
    const next = this.timers.peek();
    if (next !== undefined && (this.wakeRequestedMs === undefined || next.atMs < this.wakeRequestedMs)) {
      this.wakeRequestedMs = next.atMs;
      this.out.push({ type: 'wakeAt', atMs: next.atMs });
    }
    const out = this.out;
    this.out = [];
    return out;
  }
}

const NO_IDS: readonly WorkerId[] = [];
/** The drain-rate window (admission.earlyRefusalFactor): 10 buckets of 1 s, known after 5 completions. */
const DRAIN_BUCKET_MS = 1000;
const DRAIN_BUCKETS = 10;
const DRAIN_SAMPLES_MIN = 5;
/** Retry-After hints stay within [1 s, 60 s]. */
function clampRetryAfterMs(ms: number): number {
  return Math.min(60_000, Math.max(1000, Math.ceil(ms)));
}
const NO_VIEWS: readonly WorkerView[] = [];

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
