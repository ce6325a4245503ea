// Rolling restart, the decision part (sans-IO): which worker is next, when it may be taken out (the
// min-healthy watchdog), when its drain is over, when it is back. The driver executes the actions
// (drain through GatewayCore.drain plus telling the worker; restart the process) and calls `step`
// with the time and what it observes; the plan has no clock and no timers of its own.
//
// Per worker: watchdog → draining → restarting → starting → (next worker | done)
//   watchdog:   at least `minHealthyWorkers` *other* workers serving one of its models are healthy,
//               not draining and not broken (breaker not open); else wait, and abort after waitHealthyMs
//   draining:   until the worker has nothing in flight (or drainTimeoutMs passed: the rest is cut)
//   restarting: until the driver says the new process runs (`restarted`)
//   starting:   until the worker is healthy, not draining, breaker not open and reports its models;
//               fail after readyTimeoutMs
// With `drain: false` the worker is restarted as soon as the watchdog allows, cutting its in-flight
// requests (a crash-style restart, for comparison).
import type { WorkerInfo } from '../gateway/gateway-core.js';
import type { WorkerId } from '../types.js';

export interface RollingRestartParams {
  readonly minHealthyWorkers: number;
  /** Bound on waiting for the watchdog's condition before taking a worker out. */
  readonly waitHealthyMs: number;
  /** Bound on waiting for in-flight requests to finish (then it restarts anyway). */
  readonly drainTimeoutMs: number;
  /** Bound on waiting for the restarted worker to be healthy and serving. */
  readonly readyTimeoutMs: number;
  /** Drain before restarting (default true); false restarts at once and cuts in-flight requests. */
  readonly drain?: boolean;
}

export interface WorkerRestartRecord {
  readonly id: WorkerId;
  /** When the worker was taken out (drain start; the restart itself without a drain). */
  readonly outAtMs: number;
  readonly drainMs: number;
  /** In-flight requests still running when the worker was restarted (0 in a clean restart). */
  readonly cutInFlight: number;
  readonly restartMs: number;
  readonly readyMs: number;
}

export type RollingAction =
  | { readonly type: 'wait' }
  | { readonly type: 'drain'; readonly workerId: WorkerId }
  | { readonly type: 'restart'; readonly workerId: WorkerId; readonly cutInFlight: number }
  | { readonly type: 'done' }
  | { readonly type: 'aborted'; readonly reason: string }
  | { readonly type: 'failed'; readonly reason: string };

/** What the driver sees of the cluster at `step` time. */
export interface RollingObservation {
  readonly workers: readonly WorkerInfo[];
  /** Requests the driver sees on the current worker (e.g. a link's count); the larger of this and the core's counts. */
  readonly driverInFlight?: number;
  /** The driver's connection to the current worker is up (default true). */
  readonly connected?: boolean;
}

export type RollingPhase = 'watchdog' | 'draining' | 'restarting' | 'starting' | 'done' | 'aborted' | 'failed';

const WAIT: RollingAction = { type: 'wait' };

/** Healthy, not draining, breaker not open. */
export function isServing(w: WorkerInfo): boolean {
  return w.healthy && !w.draining && w.breaker !== 'open';
}

/** Serving workers other than `id` that serve one of `id`'s models (any, when `id` reports none). */
export function othersServing(workers: readonly WorkerInfo[], id: WorkerId): number {
  const models = new Set(workers.find((w) => w.id === id)?.models ?? []);
  return workers.filter((w) => w.id !== id && isServing(w) && (models.size === 0 || w.models.some((m) => models.has(m)))).length;
}

export function validateRollingParams(p: RollingRestartParams, where = 'rollingRestart'): RollingRestartParams {
  if (!Number.isInteger(p.minHealthyWorkers) || p.minHealthyWorkers < 0) throw new Error(`${where}.minHealthyWorkers must be an integer >= 0, got ${p.minHealthyWorkers}`);
  for (const f of ['waitHealthyMs', 'drainTimeoutMs', 'readyTimeoutMs'] as const) {
    if (!(p[f] >= 0) || !Number.isFinite(p[f])) throw new Error(`${where}.${f} must be finite and >= 0, got ${p[f]}`);
  }
  return p;
}

export class RollingRestartPlan {
  private phaseNow: RollingPhase = 'watchdog';
  private index = 0;
  private sinceMs: number;
  private t0Ms = 0;
  private t1Ms = 0;
  private t2Ms = 0;
  private cut = 0;
  readonly done: WorkerRestartRecord[] = [];
  readonly startedAtMs: number;
  finishedAtMs: number | undefined;
  reason: string | undefined;

  constructor(
    private readonly ids: readonly WorkerId[],
    private readonly p: RollingRestartParams,
    nowMs: number,
  ) {
    validateRollingParams(p);
    if (new Set(ids).size !== ids.length) throw new Error('rollingRestart.workers must not repeat an id');
    this.startedAtMs = nowMs;
    this.sinceMs = nowMs;
    if (ids.length === 0) this.end('done', nowMs);
  }

  get phase(): RollingPhase {
    return this.phaseNow;
  }

  /** The worker being restarted (or waited for), if any. */
  get current(): WorkerId | undefined {
    return this.finished ? undefined : this.ids[this.index];
  }

  get finished(): boolean {
    return this.phaseNow === 'done' || this.phaseNow === 'aborted' || this.phaseNow === 'failed';
  }

  /** The driver's restart of the current worker finished: its new process runs. */
  restarted(nowMs: number): void {
    if (this.phaseNow !== 'restarting') throw new Error(`restarted() in phase ${this.phaseNow}`);
    this.phaseNow = 'starting';
    this.t2Ms = nowMs;
  }

  /**
   * The driver could not carry out an action (e.g. its restart of the current worker threw, or it has
   * no way to reach the worker): the plan ends as failed with `reason`. No-op once finished.
   */
  fail(nowMs: number, reason: string): void {
    if (!this.finished) this.end('failed', nowMs, reason);
  }

  /** Decides what to do now; call again after any change the driver sees (or on a poll). */
  step(nowMs: number, obs: RollingObservation): RollingAction {
    const id = this.current;
    if (id === undefined) return this.terminal();
    const info = obs.workers.find((w) => w.id === id);
    switch (this.phaseNow) {
      case 'watchdog': {
        if (info === undefined) return this.end('failed', nowMs, `no worker with id ${JSON.stringify(id)}`);
        if (othersServing(obs.workers, id) < this.p.minHealthyWorkers) {
          if (nowMs - this.sinceMs <= this.p.waitHealthyMs) return WAIT;
          return this.end('aborted', nowMs, `watchdog: fewer than ${this.p.minHealthyWorkers} other healthy worker(s) for ${id}'s models within ${this.p.waitHealthyMs} ms; stopped before taking ${id} out`);
        }
        this.t0Ms = nowMs;
        if (this.p.drain === false) return this.restart(id, nowMs, Math.max(info.inFlight, obs.driverInFlight ?? 0));
        this.phaseNow = 'draining';
        return { type: 'drain', workerId: id };
      }
      case 'draining': {
        const inFlight = Math.max(info?.inFlight ?? 0, obs.driverInFlight ?? 0);
        if (inFlight === 0 || nowMs - this.t0Ms >= this.p.drainTimeoutMs) return this.restart(id, nowMs, inFlight);
        return WAIT;
      }
      case 'restarting':
        return WAIT;
      case 'starting': {
        const ready = info !== undefined && isServing(info) && info.models.length > 0 && obs.connected !== false;
        if (!ready) {
          if (nowMs - this.t2Ms <= this.p.readyTimeoutMs) return WAIT;
          return this.end('failed', nowMs, `worker ${id} was not healthy and serving ${this.p.readyTimeoutMs} ms after its restart`);
        }
        this.done.push({ id, outAtMs: this.t0Ms, drainMs: this.t1Ms - this.t0Ms, cutInFlight: this.cut, restartMs: this.t2Ms - this.t1Ms, readyMs: nowMs - this.t2Ms });
        this.index++;
        this.phaseNow = 'watchdog';
        this.sinceMs = nowMs;
        if (this.index >= this.ids.length) return this.end('done', nowMs);
        // The driver's own observations (its in-flight count, its connection) were of the worker just
        // finished: the next one is judged on the shared worker views only.
        return this.step(nowMs, { workers: obs.workers });
      }
      default:
        return this.terminal();
    }
  }

  private restart(id: WorkerId, nowMs: number, inFlight: number): RollingAction {
    this.phaseNow = 'restarting';
    this.t1Ms = nowMs;
    this.cut = inFlight;
    return { type: 'restart', workerId: id, cutInFlight: inFlight };
  }

  private end(phase: 'done' | 'aborted' | 'failed', nowMs: number, reason?: string): RollingAction {
    this.phaseNow = phase;
    this.finishedAtMs = nowMs;
    this.reason = reason;
    return this.terminal();
  }

  private terminal(): RollingAction {
    if (this.phaseNow === 'done') return { type: 'done' };
    return { type: this.phaseNow === 'aborted' ? 'aborted' : 'failed', reason: this.reason ?? '' };
  }
}
