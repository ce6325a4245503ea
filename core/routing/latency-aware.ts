// Latency-aware: EWMA of each worker's observed request latency, weighted by its queue:
//   ewma ← α·latency + (1 − α)·ewma;  score = ewma × (inFlight + 1)
// The candidate with the lowest score wins. A worker never observed scores with the cluster's mean
// EWMA (or 0 when nothing is known), so new workers get traffic and can be measured.
// Parameters: alpha — EWMA weight of the newest sample, (0, 1]. Memory: a few numbers per worker.
//
// The EWMAs live in a map by worker id (the truth) and are mirrored in arrays indexed by
// WorkerView.slot, so a pick over 100 candidates reads arrays instead of hashing 100 ids (issue 16).
// A slot can pass to another worker when one leaves, so the mirror also records the view object
// each figure was mirrored for (the gateway core keeps one view object per worker; an identity check
// costs far less than comparing id strings); a mismatch reads the map and re-mirrors.
import type { InferenceRequest, WorkerId } from '../types.js';
import type { RoutingPolicy, WorkerView } from './policy.js';

export class LatencyAwarePolicy implements RoutingPolicy {
  readonly name = 'latency-aware';
  private readonly ewmaMs = new Map<WorkerId, number>();
  private ewmaSumMs = 0;
  /** The mirror: ewmaBySlot[s] is the EWMA of the worker of view viewBySlot[s]; slotById finds a worker's slot. */
  private readonly ewmaBySlot: number[] = [];
  private readonly viewBySlot: (WorkerView | undefined)[] = [];
  private readonly slotById = new Map<WorkerId, number>();
  constructor(private readonly alpha: number) {}

  pick(_req: InferenceRequest, candidates: readonly WorkerView[]): WorkerView | undefined {
    const n = candidates.length;
    if (n === 0) return undefined;
    const prior = this.meanEwmaMs();
    let best: WorkerView | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (let i = 0; i < n; i++) {
      const w = candidates[i]!;
      const e = this.viewBySlot[w.slot] === w ? this.ewmaBySlot[w.slot]! : this.mirror(w, prior);
      const score = e * (w.inFlight + 1) + w.inFlight * 1e-9;
      if (score < bestScore) {
        best = w;
        bestScore = score;
      }
    }
    return best;
  }

  onRequestComplete(workerId: WorkerId, _req: InferenceRequest, latencyMs: number): void {
    const old = this.ewmaMs.get(workerId);
    const next = old === undefined ? latencyMs : this.alpha * latencyMs + (1 - this.alpha) * old;
    this.ewmaMs.set(workerId, next);
    this.ewmaSumMs += next - (old ?? 0);
    const s = this.slotById.get(workerId);
    if (s !== undefined && this.viewBySlot[s]?.id === workerId) this.ewmaBySlot[s] = next;
  }

  onWorkerRemoved(workerId: WorkerId): void {
    this.ewmaSumMs -= this.ewmaMs.get(workerId) ?? 0;
    this.ewmaMs.delete(workerId);
    const s = this.slotById.get(workerId);
    if (s !== undefined && this.viewBySlot[s]?.id === workerId) this.viewBySlot[s] = undefined;
    this.slotById.delete(workerId);
  }

  latencyEwmaMs(workerId: WorkerId): number | undefined {
    return this.ewmaMs.get(workerId);
  }

  /** The worker's EWMA from the map (the prior when never observed); mirrored into its slot once known. */
  private mirror(w: WorkerView, prior: number): number {
    const e = this.ewmaMs.get(w.id);
    if (e === undefined) return prior;
    const was = this.slotById.get(w.id);
    if (was !== undefined && was !== w.slot && this.viewBySlot[was]?.id === w.id) this.viewBySlot[was] = undefined;
    this.slotById.set(w.id, w.slot);
    this.viewBySlot[w.slot] = w;
    this.ewmaBySlot[w.slot] = e;
    return e;
  }

  private meanEwmaMs(): number {
    return this.ewmaMs.size === 0 ? 0 : this.ewmaSumMs / this.ewmaMs.size;
  }
}
