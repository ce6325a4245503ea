// Rolling restart: one worker at a time — drain it (the core routes no new work to it, the worker
// refuses new work), wait for its in-flight requests to finish, restart it (a hook the process
// owner provides: the cluster CLI restarts the worker process at the same address), wait until it is
// healthy and serving again, then the next one.
//
// Watchdog: a worker is only taken out when at least `minHealthyWorkers` *other* workers serving its
// models are healthy, not draining and not broken (breaker closed/half-open). If that does not hold
// within `waitHealthyMs` the restart stops there (status "aborted") instead of cutting capacity.
//
// This is operations orchestration, not a serving decision: it only calls the same drain the admin
// API has; the core keeps making every routing decision.
import type { WorkerInfo } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { GatewayCore } from '../../core/index.js';
import type { WorkerLink } from './worker-link.js';

export interface RollingRestartOptions {
  /** Workers to restart, in order (default: every worker, by id). */
  readonly workers?: readonly string[];
  readonly minHealthyWorkers: number;
  /** Bound on waiting for the watchdog's condition before taking a worker out. */
  readonly waitHealthyMs: number;
  /** Bound on waiting for in-flight requests to finish (then it restarts anyway). */
  readonly drainTimeoutMs: number;
  /** Bound on waiting for the restarted worker to be healthy and serving. */
  readonly readyTimeoutMs: number;
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
    this.running = this.run(opts).then(
      (aborted) => this.finish(aborted ? 'aborted' : 'done'),
      (err: unknown) => this.finish('failed', (err as Error).message),
    );
    return this.running;
  }

  private finish(state: RollingRestartStatus['state'], error?: string): RollingRestartStatus {
    Object.assign(this.status, { state, current: null, finishedAtMs: Date.now(), ...(error !== undefined && { error }) });
    return this.status;
  }

  /** True when it stopped because the watchdog's condition did not hold. */
  private async run(opts: RollingRestartOptions): Promise<boolean> {
    const ids = opts.workers ?? [...this.deps.links.keys()].sort();
    for (const id of ids) {
      if (!this.deps.links.has(id)) throw new Error(`no worker with id ${JSON.stringify(id)}`);
      this.status.current = id;
      if (!(await this.until(() => this.othersHealthy(id) >= opts.minHealthyWorkers, opts.waitHealthyMs))) {
        this.status.error = `watchdog: fewer than ${opts.minHealthyWorkers} other healthy worker(s) for ${id}'s models within ${opts.waitHealthyMs} ms; stopped before taking ${id} out`;
        return true;
      }
      this.status.done.push(await this.restartOne(id, opts));
    }
    return false;
  }

  private async restartOne(id: string, opts: RollingRestartOptions): Promise<WorkerRestartRecord> {
    const { core, clock, links } = this.deps;
    const link = links.get(id)!;
    const t0 = Date.now();
    core.drain(id, clock.nowMs());
    await link.drain(true).catch(() => undefined); // a worker that cannot be told still gets no new work from the core
    await this.until(() => (this.info(id)?.inFlight ?? 0) === 0 && link.inFlightCount === 0, opts.drainTimeoutMs);
    const cutInFlight = Math.max(this.info(id)?.inFlight ?? 0, link.inFlightCount);
    const t1 = Date.now();
    await this.deps.restartWorker(id);
    const t2 = Date.now();
    const ready = await this.until(async () => {
      await link.poll(true).catch(() => undefined);
      const w = this.info(id);
      return link.connected && w !== undefined && w.healthy && !w.draining && w.breaker !== 'open' && w.models.length > 0;
    }, opts.readyTimeoutMs);
    if (!ready) throw new Error(`worker ${id} was not healthy and serving ${opts.readyTimeoutMs} ms after its restart`);
    return { id, drainMs: t1 - t0, cutInFlight, restartMs: t2 - t1, readyMs: Date.now() - t2 };
  }

  private info(id: string): WorkerInfo | undefined {
    return this.deps.core.workerInfo(this.deps.clock.nowMs()).find((w) => w.id === id);
  }

  /** Healthy, serving workers other than `id` that serve one of `id`'s models. */
  private othersHealthy(id: string): number {
    const all = this.deps.core.workerInfo(this.deps.clock.nowMs());
    const models = new Set(all.find((w) => w.id === id)?.models ?? []);
    return all.filter((w) => w.id !== id && w.healthy && !w.draining && w.breaker !== 'open' && w.models.some((m) => models.has(m) || models.size === 0)).length;
  }

  private async until(cond: () => boolean | Promise<boolean>, timeoutMs: number): Promise<boolean> {
    const end = Date.now() + timeoutMs;
    for (;;) {
      if (await cond()) return true;
      if (Date.now() > end) return false;
      await new Promise((r) => setTimeout(r, POLL_MS));
    }
  }
}
