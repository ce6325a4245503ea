// The gateway core's table of workers: each worker's state (health, breaker, limits, load), the
// workers of each model, and — kept up to date eagerly — the routable ones of each model, so a
// routing decision does not scan every worker. Every event that can change a worker's routability
// touches it; the core arms timers at heartbeat deadlines and breaker cooldowns so that changes with
// time are seen too (refresh).
import { AdaptiveLimit } from '../admission/adaptive-limit.js';
import { CircuitBreaker, type BreakerState } from '../breaker/circuit-breaker.js';
import type { GatewayConfig } from '../config/types.js';
import { HeartbeatTracker } from '../health/heartbeat.js';
import { isRoutable, type CandidateState } from '../routing/candidates.js';
import { leastLoaded, type WorkerView } from '../routing/policy.js';
import type { WorkerId } from '../types.js';
import type { WorkerStatus } from './messages.js';

export interface MutableView extends WorkerView {
  inFlight: number;
  maxConcurrent: number;
  kvUsedFraction: number;
}

/** One worker as the core sees it; `J` is the core's job record (the watchdog walks `running`). */
export interface WorkerState<J> extends CandidateState {
  readonly view: MutableView;
  models: ReadonlySet<string>;
  healthy: boolean;
  draining: boolean;
  breakerAllows: boolean;
  readonly breaker: CircuitBreaker;
  readonly heartbeat: HeartbeatTracker;
  reportedMaxConcurrent: number;
  /** What its last status said it could still load a model into (model placement), when it said. */
  memoryFreeBytes: number | undefined;
  /** min(admission.maxConcurrentPerWorker, reportedMaxConcurrent); view.maxConcurrent is this or the adaptive limit below it. */
  staticMaxConcurrent: number;
  /** admission.adaptive.enabled: the AIMD limit of this worker. */
  readonly limiter: AdaptiveLimit | undefined;
  /** `healthy` and `breakerAllows` hold until this time unless an event touches the worker. */
  validUntilMs: number;
  /** Last time the worker said anything (a stream event or a status): it is alive, if busy. */
  lastSeenMs: number;
  /** Member of the routable index (isRoutable, as of the last refresh). */
  routable: boolean;
  /** Models it serves but holds unloaded now (WorkerStatus.coldModels). */
  coldModels: ReadonlySet<string>;
  /** Jobs running on this worker now; the progress watchdog checks them. */
  readonly running: Set<J>;
  /** A 'progress' timer for this worker is pending (one per worker, not one per request). */
  progressTimerArmed: boolean;
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

const NO_IDS: readonly WorkerId[] = [];
const NO_MODELS: ReadonlySet<string> = new Set();
const NO_VIEWS: readonly WorkerView[] = [];

export class WorkerTable<J> {
  private readonly byId = new Map<WorkerId, WorkerState<J>>();
  private readonly idsByModel = new Map<string, WorkerId[]>();
  private readonly statesByModel = new Map<string, WorkerState<J>[]>();
  /** Per model, the views of the workers that may take a request now, sorted by id. */
  private readonly routableByModel = new Map<string, WorkerView[]>();
  /** The same routable workers per model, by id (RoutingContext.candidatesById). */
  private readonly routableIndexByModel = new Map<string, Map<WorkerId, WorkerView>>();
  /** Per model, the workers holding it cold (WorkerStatus.coldModels). */
  private readonly coldByModel = new Map<string, Set<WorkerId>>();
  /** WorkerView.slot: departed workers' slots (reused lowest first), and the next new one. */
  private readonly freeSlots: number[] = [];
  private nextSlot = 0;

  constructor(private readonly config: GatewayConfig) {}

  get(id: WorkerId): WorkerState<J> | undefined {
    return this.byId.get(id);
  }

  values(): IterableIterator<WorkerState<J>> {
    return this.byId.values();
  }

  /** The ids of the workers serving `model`, sorted. */
  idsOf(model: string): readonly WorkerId[] {
    return this.idsByModel.get(model) ?? NO_IDS;
  }

  /** Models any worker serves. */
  models(): IterableIterator<string> {
    return this.idsByModel.keys();
  }

  routableOf(model: string): readonly WorkerView[] {
    return this.routableByModel.get(model) ?? NO_VIEWS;
  }

  routableIndexOf(model: string): ReadonlyMap<WorkerId, WorkerView> | undefined {
    return this.routableIndexByModel.get(model);
  }

  /** The worker's status report: creates it on first sight, else updates it. The caller touches it. */
  applyStatus(s: WorkerStatus, nowMs: number): WorkerState<J> {
    let w = this.byId.get(s.workerId);
    if (w === undefined) {
      w = {
        view: { id: s.workerId, inFlight: 0, maxConcurrent: 0, kvUsedFraction: 0, slot: this.takeSlot() },
        models: new Set(), healthy: true, draining: false, breakerAllows: true,
        breaker: new CircuitBreaker(this.config.breaker),
        heartbeat: new HeartbeatTracker({ intervalMs: this.config.health.heartbeatIntervalMs, missesMax: this.config.health.missesMax }, nowMs),
        reportedMaxConcurrent: 0,
        memoryFreeBytes: undefined,
        staticMaxConcurrent: 0,
        limiter: this.config.admission.adaptive.enabled ? new AdaptiveLimit(this.config.admission.adaptive, this.config.admission.maxConcurrentPerWorker) : undefined,
        validUntilMs: Number.NEGATIVE_INFINITY,
        lastSeenMs: nowMs,
        routable: false,
        coldModels: NO_MODELS,
        running: new Set(),
        progressTimerArmed: false,
      };
      this.byId.set(s.workerId, w);
    }
    if (w.coldModels.size > 0 || (s.coldModels !== undefined && s.coldModels.length > 0)) this.setCold(w, s.coldModels ?? []);
    const modelsBefore = w.models;
    w.models = new Set(s.models);
    if (!sameSet(modelsBefore, w.models)) this.reindex();
    w.reportedMaxConcurrent = s.maxConcurrent;
    w.memoryFreeBytes = s.memoryFreeBytes;
    w.staticMaxConcurrent = Math.min(s.maxConcurrent, this.config.admission.maxConcurrentPerWorker);
    w.limiter?.capTo(w.staticMaxConcurrent);
    w.view.maxConcurrent = w.limiter === undefined ? w.staticMaxConcurrent : Math.min(w.staticMaxConcurrent, w.limiter.limit);
    w.view.kvUsedFraction = s.kvCapacityBytes > 0 ? s.kvUsedBytes / s.kvCapacityBytes : 0;
    w.draining = s.draining;
    w.heartbeat.onHeartbeat(s.healthy, nowMs);
    w.lastSeenMs = nowMs;
    w.breaker.onHealthCheck(s.healthy, nowMs);
    return w;
  }

  remove(id: WorkerId): void {
    const w = this.byId.get(id);
    if (w === undefined) return;
    this.setCold(w, []);
    this.byId.delete(id);
    this.freeSlots.push(w.view.slot);
    this.freeSlots.sort((a, b) => b - a);
    this.reindex();
  }

  /**
   * The candidates holding `model` warm, when some do, others hold it cold (idle-unloaded: a request
   * there waits for the reload) and a warm one has at least half its slots free; else the candidates
   * as they are, so a cold worker is loaded once the warm ones are busy (its load adds capacity where
   * piling onto busy warm workers would only lengthen their steps). No allocation when no worker of
   * the model is cold.
   */
  warmFirst(model: string, candidates: readonly WorkerView[]): readonly WorkerView[] {
    const cold = this.coldByModel.get(model);
    if (cold === undefined || cold.size === 0) return candidates;
    const warm = candidates.filter((v) => !cold.has(v.id));
    return warm.some((v) => 2 * v.inFlight < v.maxConcurrent) ? warm : candidates;
  }

  private setCold(w: WorkerState<J>, models: readonly string[]): void {
    for (const m of w.coldModels) this.coldByModel.get(m)?.delete(w.view.id);
    w.coldModels = models.length === 0 ? NO_MODELS : new Set(models);
    for (const m of models) {
      let set = this.coldByModel.get(m);
      if (set === undefined) this.coldByModel.set(m, (set = new Set()));
      set.add(w.view.id);
    }
  }

  private takeSlot(): number {
    return this.freeSlots.pop() ?? this.nextSlot++;
  }

  /**
   * Recomputes a worker's health and breaker admission when they may have changed: after its
   * heartbeat deadline or breaker cooldown, or after an event touched it (validUntilMs reset).
   * Routing reads the cached flags, so a pick over 100 workers does not re-derive 100 states.
   */
  refresh(w: WorkerState<J>, nowMs: number): void {
    if (nowMs < w.validUntilMs) return;
    w.healthy = w.heartbeat.healthy(nowMs);
    w.breakerAllows = !this.config.breaker.enabled || w.breaker.allows(nowMs);
    const state = w.breaker.state(nowMs);
    const breakerUntil = state === 'closed' ? Number.POSITIVE_INFINITY : state === 'open' ? w.breaker.halfOpensAtMs(nowMs)! : nowMs;
    w.validUntilMs = Math.min(w.healthy ? w.heartbeat.deadlineMs() : Number.POSITIVE_INFINITY, breakerUntil);
    this.syncRoutable(w);
  }

  /** Something about the worker changed (load, status, breaker): recompute its routability now. */
  touch(w: WorkerState<J> | undefined, nowMs: number): void {
    if (w === undefined) return;
    w.validUntilMs = Number.NEGATIVE_INFINITY;
    this.refresh(w, nowMs);
  }

  /**
   * No worker of the model can take a request now or soon. A live worker whose breaker is open
   * counts as "soon" when it half-opens within `soonMs` (a queued request's timeout): the request
   * waits in the queue for the probes (the breaker timer wakes the core then) instead of failing at
   * once. Without that, the breaker opening on a model's only worker turned every request into a
   * 503 for the whole cooldown, though the worker may have recovered already.
   */
  /** Some worker of `model` is healthy, not draining and its breaker lets work through (full or not). */
  anyAccepting(model: string, nowMs: number): boolean {
    for (const id of this.idsOf(model)) {
      const w = this.byId.get(id)!;
      this.refresh(w, nowMs);
      if (w.healthy && !w.draining && w.breakerAllows) return true;
    }
    return false;
  }

  noHealthyWorker(model: string, nowMs: number, soonMs: number): boolean {
    for (const id of this.idsOf(model)) {
      const w = this.byId.get(id)!;
      this.refresh(w, nowMs);
      if (!w.healthy || w.draining) continue;
      if (w.breakerAllows || w.view.inFlight > 0) return false;
      const at = w.breaker.halfOpensAtMs(nowMs);
      if (at !== undefined && at - nowMs <= soonMs) return false;
    }
    return true;
  }

  /** A Retry-After for no_healthy_worker: until the first breaker of the model half-opens (≥ 1 s), else a heartbeat interval. */
  cooldownLeftMs(model: string, nowMs: number): number {
    let best = this.config.health.heartbeatIntervalMs;
    for (const id of this.idsOf(model)) {
      const at = this.byId.get(id)!.breaker.halfOpensAtMs(nowMs);
      if (at !== undefined) best = Math.min(best, Math.max(1000, at - nowMs));
    }
    return best;
  }

  /** The cluster's request slots now (sum of the workers' limits). */
  slots(): number {
    let n = 0;
    for (const w of this.byId.values()) n += w.view.maxConcurrent;
    return n;
  }

  /**
   * The worker for a one-shot call the core does not track (embeddings): the least-loaded routable
   * worker of the model, else the least-loaded one that is only full. The same health, draining and
   * breaker rules as generation, so live and sim agree on where such calls may go.
   */
  pickForOneShot(model: string, nowMs: number): { readonly ok: true; readonly workerId: WorkerId } | { readonly ok: false; readonly code: 'model_not_found' | 'no_healthy_worker' } {
    const states = this.statesByModel.get(model);
    if (states === undefined || states.length === 0) return { ok: false, code: 'model_not_found' };
    for (const w of states) this.refresh(w, nowMs);
    const routable = this.routableOf(model);
    const picked = leastLoaded(routable.length > 0 ? routable : states.filter((w) => w.healthy && !w.draining && w.breakerAllows).map((w) => w.view));
    return picked === undefined ? { ok: false, code: 'no_healthy_worker' } : { ok: true, workerId: picked.id };
  }

  info(nowMs: number): WorkerInfo[] {
    return [...this.byId.values()].map((w) => ({
      id: w.view.id, models: [...w.models], healthy: w.heartbeat.healthy(nowMs), draining: w.draining,
      breaker: w.breaker.state(nowMs), inFlight: w.view.inFlight, maxConcurrent: w.view.maxConcurrent,
      staticMaxConcurrent: w.staticMaxConcurrent, ...(w.limiter !== undefined && { adaptiveLimit: w.limiter.limit }), kvUsedFraction: w.view.kvUsedFraction,
    }));
  }

  private syncRoutable(w: WorkerState<J>): void {
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

  private reindex(): void {
    this.idsByModel.clear();
    this.statesByModel.clear();
    this.routableByModel.clear();
    this.routableIndexByModel.clear();
    const ids = [...this.byId.keys()].sort();
    for (const id of ids) {
      const w = this.byId.get(id)!;
      for (const m of w.models) {
        let list = this.idsByModel.get(m);
        if (list === undefined) this.idsByModel.set(m, (list = []));
        list.push(id);
        let states = this.statesByModel.get(m);
        if (states === undefined) this.statesByModel.set(m, (states = []));
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
}

function sameSet(a: ReadonlySet<string>, b: ReadonlySet<string>): boolean {
  if (a.size !== b.size) return false;
  for (const x of a) if (!b.has(x)) return false;
  return true;
}
