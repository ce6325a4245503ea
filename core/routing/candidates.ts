// The one place where health, breaker state, draining, model and capacity filter routing candidates.
import type { WorkerId } from '../types.js';
import type { WorkerView } from './policy.js';

export interface CandidateState {
  readonly view: WorkerView;
  readonly models: ReadonlySet<string>;
  readonly healthy: boolean;
  readonly draining: boolean;
  /** The breaker allows a request now (closed, or half-open with a probe slot free). */
  readonly breakerAllows: boolean;
}

/** Whether a worker may take one more request now (any model it serves). */
export function isRoutable(w: CandidateState): boolean {
  return w.healthy && !w.draining && w.breakerAllows && w.view.inFlight < w.view.maxConcurrent;
}

/**
 * Workers that may take one more request for `model` now. `exclude` removes workers a retry must
 * avoid (the one that just failed), unless that would leave no candidate at all.
 */
export function routableCandidates(
  workers: Iterable<CandidateState>,
  model: string,
  exclude?: ReadonlySet<WorkerId>,
): WorkerView[] {
  const out: WorkerView[] = [];
  let excluded: WorkerView[] | undefined;
  for (const w of workers) {
    if (!isRoutable(w) || !w.models.has(model)) continue;
    if (exclude?.has(w.view.id)) (excluded ??= []).push(w.view);
    else out.push(w.view);
  }
  return out.length > 0 || excluded === undefined ? out : excluded;
}
