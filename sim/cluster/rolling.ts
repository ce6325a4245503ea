// The simulator's driver of a rolling restart: core's RollingRestartPlan decides (which worker, when,
// the min-healthy watchdog, the bounds); this polls it under virtual time, executes its actions
// through the cluster (the host) and records what happened for the scenario's figures.
import type { WorkerInfo } from '../../core/gateway/gateway-core.js';
import { isServing, RollingRestartPlan, type RollingPhase, type WorkerRestartRecord } from '../../core/operations/rolling-restart.js';
import type { WorkerId } from '../../core/types.js';
import type { RollingRestartFault } from '../worker/faults.js';

/** Virtual time between polls of the plan while it waits (it is also stepped on the events it waits for). */
export const ROLLING_POLL_MS = 100;

export interface RollingSpec extends RollingRestartFault {
  /** Drain before each restart (false: a crash-style restart that cuts in-flight requests). */
  readonly drain: boolean;
}

/** What the driver does for the plan: the cluster implements it. */
export interface RollingHost {
  workerInfo(nowMs: number): readonly WorkerInfo[];
  /** Sequences the worker process itself still holds (queued or running). */
  workerLoad(workerId: WorkerId): number;
  /** The worker's process runs with its model loaded (the driver's link to it is up). */
  workerUp(workerId: WorkerId): boolean;
  drain(workerId: WorkerId, nowMs: number): void;
  restart(workerId: WorkerId, nowMs: number): void;
}

export interface RollingReport {
  readonly phase: RollingPhase;
  readonly startedAtMs: number;
  /** Start to end (the last worker ready), or −1 while it has not ended. */
  readonly totalMs: number;
  readonly records: readonly WorkerRestartRecord[];
  /** Fewest serving workers (healthy, not draining, breaker not open) seen at any step. */
  readonly minServingWorkers: number;
  readonly reason: string | undefined;
}

export class SimRollingRestart {
  private plan: RollingRestartPlan | undefined;
  private minServing = Number.POSITIVE_INFINITY;

  constructor(
    readonly spec: RollingSpec,
    private readonly ids: readonly WorkerId[],
  ) {}

  /** Started and not finished: the cluster keeps heartbeating and polling. */
  get active(): boolean {
    return this.plan !== undefined && !this.plan.finished;
  }

  /** Steps the plan (starting it on the first call); returns whether to poll again. */
  tick(nowMs: number, host: RollingHost): boolean {
    this.plan ??= new RollingRestartPlan(this.ids, { ...this.spec }, nowMs);
    const plan = this.plan;
    for (;;) {
      const workers = host.workerInfo(nowMs);
      this.minServing = Math.min(this.minServing, workers.filter(isServing).length);
      const current = plan.current;
      const a = current === undefined ? plan.step(nowMs, { workers }) : plan.step(nowMs, { workers, driverInFlight: host.workerLoad(current), connected: host.workerUp(current) });
      if (a.type === 'drain') host.drain(a.workerId, nowMs);
      else if (a.type === 'restart') host.restart(a.workerId, nowMs);
      else return a.type === 'wait';
      // an action changed the cluster: look again at once (a drained worker may already be idle)
    }
  }

  /** The restarted process of `workerId` runs again (it now loads the model). */
  restarted(workerId: WorkerId, nowMs: number): void {
    if (this.plan?.current === workerId && this.plan.phase === 'restarting') this.plan.restarted(nowMs);
  }

  report(): RollingReport {
    const p = this.plan;
    return {
      phase: p?.phase ?? 'watchdog',
      startedAtMs: p?.startedAtMs ?? this.spec.atMs,
      totalMs: p?.finishedAtMs === undefined ? -1 : p.finishedAtMs - p.startedAtMs,
      records: p?.done ?? [],
      minServingWorkers: Number.isFinite(this.minServing) ? this.minServing : 0,
      reason: p?.reason,
    };
  }
}
