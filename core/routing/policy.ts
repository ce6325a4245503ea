// The routing interface. A policy picks one worker among candidates that are already filtered for
// health, breaker state, draining, model and free capacity (see candidates.ts): policies never
// re-check those, so the filtering rules live in exactly one place.
import type { InferenceRequest, Rng, WorkerId } from '../types.js';
import { leastBy } from '../util/least-by.js';

/** What routing may know about a worker at decision time. Built by the gateway core. */
export interface WorkerView {
  readonly id: WorkerId;
  /** Requests the gateway has dispatched to this worker and not yet seen finish. */
  readonly inFlight: number;
  readonly maxConcurrent: number;
  /** KV memory in use as a fraction of the worker's KV capacity (0..1), as last reported. */
  readonly kvUsedFraction: number;
  /**
   * A small non-negative integer, unique among the workers present now; a departed worker's slot is
   * reused. Lets a policy keep per-worker figures in an array instead of a map keyed by id (a pick
   * over 100 workers then does no hashing). A slot may later belong to another worker: a policy that
   * keeps figures by slot also records whose they are.
   */
  readonly slot: number;
}

export interface RoutingContext {
  readonly nowMs: number;
  readonly rng: Rng;
  /** Every worker serving the request's model, healthy or not, in a stable order (by id). */
  readonly allWorkerIds: readonly WorkerId[];
  /**
   * The candidates by id, when the caller maintains such an index (the gateway core does): lets a
   * policy that already knows which worker it wants find it in O(1) instead of scanning.
   */
  readonly candidatesById?: ReadonlyMap<WorkerId, WorkerView>;
}

/** The candidate with this id: from the index when there is one, else by scanning. */
export function candidateById(id: WorkerId, candidates: readonly WorkerView[], ctx?: RoutingContext): WorkerView | undefined {
  if (ctx?.candidatesById !== undefined) return ctx.candidatesById.get(id);
  for (const w of candidates) if (w.id === id) return w;
  return undefined;
}

export interface RoutingPolicy {
  readonly name: string;
  /** Returns the chosen candidate, or undefined when candidates is empty. */
  pick(req: InferenceRequest, candidates: readonly WorkerView[], ctx: RoutingContext): WorkerView | undefined;
  /** Called when a request finishes on a worker; latency-aware and prefix-aware policies learn here. */
  onRequestComplete?(workerId: WorkerId, req: InferenceRequest, latencyMs: number, nowMs: number): void;
  /** Called when the request is dispatched (prefix-aware policies record the prefix now). */
  onDispatch?(workerId: WorkerId, req: InferenceRequest, nowMs: number): void;
  /** Called when a worker leaves the cluster: forget what was learned about it. */
  onWorkerRemoved?(workerId: WorkerId): void;
}

/** Load score used by every load-aware fallback: fraction of concurrency slots in use. */
export function loadScore(w: WorkerView): number {
  return w.maxConcurrent > 0 ? w.inFlight / w.maxConcurrent : Number.POSITIVE_INFINITY;
}

/** The least-loaded candidate; ties go to the earlier candidate (stable, deterministic). */
export function leastLoaded(candidates: readonly WorkerView[]): WorkerView | undefined {
  return leastBy(candidates, loadScore);
}
