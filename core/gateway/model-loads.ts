// Models loaded at run time (config.catalog): where a catalogued model that no worker holds is
// loaded, and the loads under way. The gateway core asks for one load per model (`loadModel`
// command); the requests for that model wait in its queue until a worker's status lists it, and fail
// with model_load_failed when the load fails (`modelLoadFailed` event) or its worker leaves.
//
// Placement (placeModel): among the workers that accept work (healthy, not draining, breaker
// letting work through), those reporting at least the model's size free (WorkerStatus.memoryFreeBytes)
// are preferred, the least loaded first (requests in flight), then by id; when none reports enough,
// the one reporting the most free (a worker that reports nothing counts as 0), ties again by load then
// id. The worker's own memory governor decides what it unloads to make room, or refuses.
import type { WorkerId } from '../types.js';

export interface PlacementCandidate {
  readonly id: WorkerId;
  readonly healthy: boolean;
  readonly draining: boolean;
  readonly breakerAllows: boolean;
  readonly inFlight: number;
  readonly memoryFreeBytes: number | undefined;
}

/** The worker to load a model of `bytes` on (see above); undefined when no worker accepts work. */
export function placeModel(candidates: Iterable<PlacementCandidate>, bytes: number): WorkerId | undefined {
  let best: PlacementCandidate | undefined;
  let bestFits = false;
  for (const c of candidates) {
    if (!c.healthy || c.draining || !c.breakerAllows) continue;
    const fits = c.memoryFreeBytes !== undefined && c.memoryFreeBytes >= bytes;
    if (best === undefined || better(c, fits, best, bestFits)) {
      best = c;
      bestFits = fits;
    }
  }
  return best?.id;
}

function better(c: PlacementCandidate, fits: boolean, b: PlacementCandidate, bFits: boolean): boolean {
  if (fits !== bFits) return fits;
  if (!fits) {
    const cf = c.memoryFreeBytes ?? 0;
    const bf = b.memoryFreeBytes ?? 0;
    if (cf !== bf) return cf > bf;
  }
  if (c.inFlight !== b.inFlight) return c.inFlight < b.inFlight;
  return c.id < b.id;
}

interface PendingLoad {
  readonly workerId: WorkerId;
  readonly sinceMs: number;
}

/** The loads under way, one per model. */
export class ModelLoads {
  private readonly pending = new Map<string, PendingLoad>();

  /**
   * @param staleAfterMs a load not seen to finish within this long is forgotten (every request that
   *   waited on it has timed out by then: the core passes admission.queueTimeoutMs), so the next
   *   request for the model asks anew.
   */
  constructor(private readonly staleAfterMs: number) {}

  /** The worker loading `model` now, if a load is under way and not stale. */
  loadingOn(model: string, nowMs: number): WorkerId | undefined {
    const p = this.pending.get(model);
    if (p === undefined) return undefined;
    if (nowMs - p.sinceMs > this.staleAfterMs) {
      this.pending.delete(model);
      return undefined;
    }
    return p.workerId;
  }

  start(model: string, workerId: WorkerId, nowMs: number): void {
    this.pending.set(model, { workerId, sinceMs: nowMs });
  }

  /** The load of `model` ended (the model is held now, or the load failed). */
  end(model: string): void {
    this.pending.delete(model);
  }

  /** Models being loaded now. */
  models(): string[] {
    return [...this.pending.keys()];
  }

  /** Models being loaded on `workerId` (it left: those loads failed). */
  modelsOn(workerId: WorkerId): string[] {
    return [...this.pending].filter(([, p]) => p.workerId === workerId).map(([m]) => m);
  }

  get size(): number {
    return this.pending.size;
  }
}
