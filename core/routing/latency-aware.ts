// Latency-aware: EWMA of each worker's observed request latency, weighted by its queue:
//   ewma ← α·latency + (1 − α)·ewma;  score = ewma × (inFlight + 1)
// The candidate with the lowest score wins. A worker never observed scores with the cluster's mean
// EWMA (or 0 when nothing is known), so new workers get traffic and can be measured.
// Parameters: alpha — EWMA weight of the newest sample, (0, 1]. Memory: one number per worker.
import type { InferenceRequest, WorkerId } from '../types.js';
import type { RoutingPolicy, WorkerView } from './policy.js';

export class LatencyAwarePolicy implements RoutingPolicy {
  readonly name = 'latency-aware';
  private readonly ewmaMs = new Map<WorkerId, number>();
  private ewmaSumMs = 0;
  constructor(private readonly alpha: number) {}

  pick(_req: InferenceRequest, candidates: readonly WorkerView[]): WorkerView | undefined {
    if (candidates.length === 0) return undefined;
    const prior = this.meanEwmaMs();
    let best: WorkerView | undefined;
    let bestScore = Number.POSITIVE_INFINITY;
    for (const w of candidates) {
      const score = (this.ewmaMs.get(w.id) ?? prior) * (w.inFlight + 1) + w.inFlight * 1e-9;
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
  }

  onWorkerRemoved(workerId: WorkerId): void {
    this.ewmaSumMs -= this.ewmaMs.get(workerId) ?? 0;
    this.ewmaMs.delete(workerId);
  }

  latencyEwmaMs(workerId: WorkerId): number | undefined {
    return this.ewmaMs.get(workerId);
  }

  private meanEwmaMs(): number {
    return this.ewmaMs.size === 0 ? 0 : this.ewmaSumMs / this.ewmaMs.size;
  }
}
