// Fault plans for the worker model: crashes (at T, restart after R; in-flight sequences fail, or for a
// runtime crash, those with no token yet are re-run),
// slow-downs (step time × factor over [startMs, endMs)), and error injection (a probability per
// request, drawn from the seeded fault stream), and a rolling restart (every worker restarted one at a
// time, under core's RollingRestartPlan). Crashes and the rolling restart are driven by the driver (it
// schedules events and calls worker.crash / worker.restart); slow-downs and error injection live in
// the worker config.
import { validateRollingParams, type RollingRestartParams } from '../../core/operations/rolling-restart.js';

export interface SlowdownWindow {
  readonly startMs: number;
  readonly endMs: number;
  readonly factor: number;
}

export interface CrashFault {
  readonly workerIndex: number;
  readonly atMs: number;
  readonly restartAfterMs: number;
  /**
   * Only the worker's runtime dies, not the node (worker.crashRuntime): the node keeps taking
   * requests, re-runs those that had sent no token (core/worker/runtime-lost.ts) and fails the others.
   * Absent or false: the whole worker dies (worker.crash).
   */
  readonly runtime?: boolean;
}

/** Restart every worker, one at a time, from atMs (the plan's watchdog and bounds, core/operations). */
export interface RollingRestartFault extends Omit<RollingRestartParams, 'drain'> {
  readonly atMs: number;
  /** A restarted process is back after this long, then loads the model (the cold start). */
  readonly processRestartMs: number;
}

export interface FaultPlan {
  readonly crashes?: readonly CrashFault[];
  readonly rollingRestart?: RollingRestartFault;
  readonly slowdowns?: readonly (SlowdownWindow & { readonly workerIndex: number })[];
  /** Probability that a request fails on the worker (during its prefill). */
  readonly errorProbability?: number;
}

export const FAULTS_PER_PLAN_MAX = 10_000;

export function validateFaultPlan(plan: FaultPlan, workerCount: number): FaultPlan {
  const crashes = plan.crashes ?? [];
  const slowdowns = plan.slowdowns ?? [];
  if (crashes.length + slowdowns.length > FAULTS_PER_PLAN_MAX) throw new Error(`faults: more than ${FAULTS_PER_PLAN_MAX} entries`);
  const idx = (where: string, i: number): void => {
    if (!Number.isInteger(i) || i < 0 || i >= workerCount) throw new Error(`${where}.workerIndex must be an integer in [0, ${workerCount}), got ${i}`);
  };
  crashes.forEach((c, k) => {
    idx(`faults.crashes[${k}]`, c.workerIndex);
    if (!(c.atMs >= 0) || !Number.isFinite(c.atMs)) throw new Error(`faults.crashes[${k}].atMs must be finite and >= 0, got ${c.atMs}`);
    if (!(c.restartAfterMs >= 0) || !Number.isFinite(c.restartAfterMs)) throw new Error(`faults.crashes[${k}].restartAfterMs must be finite and >= 0, got ${c.restartAfterMs}`);
  });
  slowdowns.forEach((w, k) => {
    idx(`faults.slowdowns[${k}]`, w.workerIndex);
    validateSlowdown(w, `faults.slowdowns[${k}]`);
  });
  if (plan.rollingRestart !== undefined) validateRollingRestart(plan.rollingRestart, workerCount);
  const p = plan.errorProbability ?? 0;
  if (!(p >= 0 && p <= 1)) throw new Error(`faults.errorProbability must be in [0, 1], got ${p}`);
  return plan;
}

export function validateRollingRestart(r: RollingRestartFault, workerCount: number, where = 'faults.rollingRestart'): void {
  validateRollingParams(r, where);
  if (!(r.atMs >= 0) || !Number.isFinite(r.atMs)) throw new Error(`${where}.atMs must be finite and >= 0, got ${r.atMs}`);
  if (!(r.processRestartMs >= 0) || !Number.isFinite(r.processRestartMs)) throw new Error(`${where}.processRestartMs must be finite and >= 0, got ${r.processRestartMs}`);
  if (r.minHealthyWorkers >= workerCount) throw new Error(`${where}.minHealthyWorkers must be < the number of workers (${workerCount}), got ${r.minHealthyWorkers}: no worker could ever be taken out`);
}

export function validateSlowdown(w: SlowdownWindow, where = 'slowdown'): void {
  if (!(w.startMs >= 0) || !(w.endMs > w.startMs) || !Number.isFinite(w.endMs)) throw new Error(`${where}: need 0 <= startMs < endMs (finite), got [${w.startMs}, ${w.endMs})`);
  if (!(w.factor > 0) || !Number.isFinite(w.factor)) throw new Error(`${where}.factor must be finite and > 0, got ${w.factor}`);
}

export function slowdownsFor(plan: FaultPlan, workerIndex: number): SlowdownWindow[] {
  return (plan.slowdowns ?? []).filter((w) => w.workerIndex === workerIndex).map(({ startMs, endMs, factor }) => ({ startMs, endMs, factor }));
}

/** The step-time factor at nowMs: the product of the windows (sorted by startMs) that cover it. */
export function slowFactorAt(slowdowns: readonly SlowdownWindow[], nowMs: number): number {
  let f = 1;
  for (const w of slowdowns) {
    if (w.startMs > nowMs) break;
    if (nowMs < w.endMs) f *= w.factor;
  }
  return f;
}
