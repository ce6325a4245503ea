// A worker's models over time (issue 8, made pure in issue 13): which idle model to unload, which to
// keep loaded because it is hot (and warm it), and when a model, hence the worker, is unhealthy. The
// live worker node drives it with its clock; time comes in as nowMs.
//
// Hot: at least minRequests requests within the last windowMs (the arrival times of a model's last
// minRequests requests are kept, so the test is nowMs − oldest ≤ windowMs; minRequests 0 = never hot).
// Idle model (core's MemoryGovernor names those idle for idleUnloadMs): busy (loading, running or
// waiting requests) → keep, and its idleness counts from now; hot → keep and prewarm; else unload.
// Unhealthy: no runtime of the model alive, and every one failed UNHEALTHY_FAILURES starts in a row.

/** Failed starts in a row after which a runtime counts as failing (all of a model's: the model is unhealthy). */
export const UNHEALTHY_FAILURES = 3;

export interface PrewarmParams {
  readonly windowMs: number;
  readonly minRequests: number;
}

/** Per model, the arrival times of its last minRequests requests (bounded: minRequests per noted model). */
export class HotModels {
  private readonly recent = new Map<string, number[]>();

  constructor(private readonly p: PrewarmParams) {
    if (!(p.windowMs >= 0) || !(Number.isInteger(p.minRequests) && p.minRequests >= 0)) throw new Error(`HotModels: need windowMs >= 0 and an integer minRequests >= 0 (got ${p.windowMs}, ${p.minRequests})`);
  }

  /** A request for `id` arrived. */
  note(id: string, nowMs: number): void {
    const n = this.p.minRequests;
    if (n <= 0) return;
    let times = this.recent.get(id);
    if (times === undefined) this.recent.set(id, (times = []));
    times.push(nowMs);
    if (times.length > n) times.shift();
  }

  /** At least minRequests requests within the last windowMs. */
  isHot(id: string, nowMs: number): boolean {
    const n = this.p.minRequests;
    const times = this.recent.get(id);
    return n > 0 && times !== undefined && times.length >= n && nowMs - (times[0] ?? 0) <= this.p.windowMs;
  }

  /** The model is gone for good (an admin unload). */
  forget(id: string): void {
    this.recent.delete(id);
  }
}

export type IdleModelAction = 'keep' | 'prewarm' | 'unload';

/** What to do with a model idle for idleUnloadMs: keep it while busy, keep and warm it while hot, else unload it. */
export function idleModelAction(busy: boolean, hot: boolean): IdleModelAction {
  if (busy) return 'keep';
  return hot ? 'prewarm' : 'unload';
}

/** A model is unhealthy when none of its runtimes is alive and each failed UNHEALTHY_FAILURES starts in a row. */
export function modelUnhealthy(runtimesAlive: number, failuresInARow: readonly number[]): boolean {
  return runtimesAlive === 0 && failuresInARow.every((f) => f >= UNHEALTHY_FAILURES);
}
