// Rolling restart: one worker at a time — drain it (the core routes no new work to it, the worker
// refuses new work), wait for its in-flight requests to finish, restart it (a hook the process
// owner provides: the cluster CLI restarts the worker process at the same address), wait until it is
// healthy and serving again, then the next one.
//
// Watchdog: a worker is only taken out when at least `minHealthyWorkers` *other* workers serving its
// models are healthy, not draining and not broken (breaker closed/half-open). If that does not hold
// within `waitHealthyMs` the restart stops there (status "aborted") instead of cutting capacity.
//
// Every decision (which worker next, the watchdog, the drain/ready bounds, the per-worker records and
// the error strings) is core's RollingRestartPlan — the same plan the simulator drives under virtual
// time (sim/cluster/rolling.ts). This file is only the I/O: a polling loop on real time, telling the
// core and the worker to drain, calling the restart hook, and observing the link (connected, requests
// on its stream) for the plan. It is operations orchestration, not a serving decision: the core keeps
// making every routing decision.
import { RollingRestartPlan, type GatewayCore, type RollingObservation, type RollingRestartParams } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { WorkerLink } from './worker-link.js';

export interface RollingRestartOptions extends Omit<RollingRestartParams, 'drain'> {
  /** Workers to restart, in order (default: every worker, by id). */
  readonly workers?: readonly string[];
}

export const DEFAULT_ROLLING: Omit<RollingRestartOptions, 'workers'> = { minHealthyWorkers: 1, waitHealthyMs: 30_000, drainTimeoutMs: 60_000, readyTimeoutMs: 120_000 };

export interface WorkerRestartRecord {
  readonly id: string;
  readonly drainMs: number;
  /** In-flight requests still running when the drain timeout passed (0 in a clean restart). */
  readonly cutInFlight: number;
  readonly restartMs: number;
  readonly readyMs: number;
}

export interface RollingRestartStatus {
  state: 'idle' | 'running' | 'done' | 'aborted' | 'failed';
  current: string | null;
  done: WorkerRestartRecord[];
  error: string | null;
  startedAtMs: number | null;
  finishedAtMs: number | null;
}

/** Restarts one worker (same id and address); resolves once the new process listens. */
export type RestartWorkerHook = (id: string) => Promise<void>;

export interface RollingDeps {
  readonly core: GatewayCore;
  readonly clock: Clock;
  readonly links: ReadonlyMap<string, WorkerLink>;
  readonly restartWorker: RestartWorkerHook;
}

const POLL_MS = 25;

/** The plan's time: real and monotonic (the gateway's clock may be a manual one in tests). */
const realNowMs = (): number => performance.now();

export class RollingRestarter {
  readonly status: RollingRestartStatus = { state: 'idle', current: null, done: [], error: null, startedAtMs: null, finishedAtMs: null };
  private running: Promise<RollingRestartStatus> | undefined;

  constructor(private readonly deps: RollingDeps) {}

  get busy(): boolean {
    return this.status.state === 'running';
  }

  /** Starts a rolling restart (one at a time); the promise settles when it ends. */
  start(opts: RollingRestartOptions): Promise<RollingRestartStatus> {
    if (this.busy) throw new Error('a rolling restart is already running');
    Object.assign(this.status, { state: 'running', current: null, done: [], error: null, startedAtMs: Date.now(), finishedAtMs: null });
    const ids = opts.workers ?? [...this.deps.links.keys()].sort();
    const params: RollingRestartParams = { minHealthyWorkers: opts.minHealthyWorkers, waitHealthyMs: opts.waitHealthyMs, drainTimeoutMs: opts.drainTimeoutMs, readyTimeoutMs: opts.readyTimeoutMs };
    let plan: RollingRestartPlan;
    try {
      plan = new RollingRestartPlan(ids, params, realNowMs());
    } catch (err) {
      this.running = Promise.resolve(this.finish('failed', (err as Error).message));
      return this.running;
    }
    this.running = this.run(plan).then(
      () => this.finish(plan.phase === 'done' ? 'done' : plan.phase === 'aborted' ? 'aborted' : 'failed', plan.reason),
      (err: unknown) => this.finish('failed', (err as Error).message),
    );
    return this.running;
  }

  private finish(state: RollingRestartStatus['state'], error?: string): RollingRestartStatus {
    Object.assign(this.status, { state, current: null, finishedAtMs: Date.now(), ...(error !== undefined && { error }) });
    return this.status;
  }

  /** Executes the plan's actions until it ends (done, aborted by the watchdog, or failed). */
  private async run(plan: RollingRestartPlan): Promise<void> {
    const { core, clock, links } = this.deps;
    for (;;) {
      const id = plan.current;
      const link = id === undefined ? undefined : links.get(id);
      if (id !== undefined && link === undefined) plan.fail(realNowMs(), `no worker with id ${JSON.stringify(id)}`);
      // waiting for the restarted worker: ask it for its state now rather than at the next heartbeat
      else if (link !== undefined && plan.phase === 'starting') await link.poll(true).catch(() => undefined);
      const action = plan.step(realNowMs(), this.observe(link));
      this.sync(plan);
      switch (action.type) {
        case 'wait':
          await new Promise((r) => setTimeout(r, POLL_MS));
          break;
        case 'drain': {
          // not necessarily `link`: the step that found a worker ready may already take out the next one
          const target = links.get(action.workerId);
          if (target === undefined) {
            plan.fail(realNowMs(), `no worker with id ${JSON.stringify(action.workerId)}`);
            break;
          }
          core.drain(action.workerId, clock.nowMs());
          await target.drain(true).catch(() => undefined); // a worker that cannot be told still gets no new work from the core
          break;
        }
        case 'restart':
          try {
            await this.deps.restartWorker(action.workerId);
          } catch (err) {
            plan.fail(realNowMs(), (err as Error).message);
            break;
          }
          plan.restarted(realNowMs());
          break;
        default:
          return; // done, aborted, failed: the plan holds the reason
      }
    }
  }

  /** What the plan sees: the core's workers, plus the link of the current worker (its stream's requests, whether it is up). */
  private observe(link: WorkerLink | undefined): RollingObservation {
    const workers = this.deps.core.workerInfo(this.deps.clock.nowMs());
    return link === undefined ? { workers } : { workers, driverInFlight: link.inFlightCount, connected: link.connected };
  }

  /** Mirrors the plan's progress into the status the admin API serves while it runs. */
  private sync(plan: RollingRestartPlan): void {
    this.status.current = plan.current ?? null;
    for (const r of plan.done.slice(this.status.done.length)) {
      this.status.done.push({ id: r.id, drainMs: r.drainMs, cutInFlight: r.cutInFlight, restartMs: r.restartMs, readyMs: r.readyMs });
    }
    if (plan.finished && plan.reason !== undefined) this.status.error = plan.reason;
  }
}
