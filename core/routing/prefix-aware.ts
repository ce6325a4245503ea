// Prefix (cache) aware routing, after SGLang's cache-aware router. Each worker has a bounded LRU of
// the prompt blocks it has seen (chained block hashes: a block's hash covers its whole prefix, so a
// worker holding block i holds the prefix up to i). The request goes to the candidate with the longest
// shared prefix, provided that the cluster is balanced:
//   imbalanced ⇔ maxLoad − minLoad > balanceAbsThreshold  and  maxLoad > balanceRelThreshold × minLoad
// (loads in in-flight requests). When imbalanced, or no worker shares at least `minMatchBlocks`
// blocks, the least-loaded candidate wins, so one hot prefix cannot pin all traffic to one worker.
// Parameters: blocksPerWorkerMax (memory bound), minMatchBlocks, balanceAbsThreshold, balanceRelThreshold.
import type { InferenceRequest, WorkerId } from '../types.js';
import { Lru } from '../caching/lru.js';
import { leastLoaded, type RoutingPolicy, type WorkerView } from './policy.js';

export interface PrefixAwareParams {
  readonly blocksPerWorkerMax: number;
  readonly minMatchBlocks: number;
  readonly balanceAbsThreshold: number;
  readonly balanceRelThreshold: number;
}

export class PrefixAwarePolicy implements RoutingPolicy {
  readonly name = 'prefix-aware';
  private readonly blocks = new Map<WorkerId, Lru<number, true>>();
  constructor(private readonly params: PrefixAwareParams) {}

  pick(req: InferenceRequest, candidates: readonly WorkerView[]): WorkerView | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (this.imbalanced(candidates)) return leastLoaded(candidates);
    let best: WorkerView | undefined;
    let bestMatch = this.params.minMatchBlocks - 1;
    for (const w of candidates) {
      const m = this.matchedBlocks(w.id, req.prefixBlocks);
      if (m > bestMatch || (m === bestMatch && best !== undefined && w.inFlight < best.inFlight)) {
        best = w;
        bestMatch = m;
      }
    }
    return best ?? leastLoaded(candidates);
  }

  onDispatch(workerId: WorkerId, req: InferenceRequest): void {
    let set = this.blocks.get(workerId);
    if (set === undefined) {
      set = new Lru<number, true>(this.params.blocksPerWorkerMax);
      this.blocks.set(workerId, set);
    }
    for (const b of req.prefixBlocks) set.set(b, true);
  }

  onWorkerRemoved(workerId: WorkerId): void {
    this.blocks.delete(workerId);
  }

  /** Number of leading blocks of `prefixBlocks` that worker holds. */
  matchedBlocks(workerId: WorkerId, prefixBlocks: readonly number[]): number {
    const set = this.blocks.get(workerId);
    if (set === undefined) return 0;
    for (let i = prefixBlocks.length - 1; i >= 0; i--) {
      if (set.has(prefixBlocks[i]!)) return i + 1;
    }
    return 0;
  }

  private imbalanced(candidates: readonly WorkerView[]): boolean {
    let min = Number.POSITIVE_INFINITY;
    let max = 0;
    for (const w of candidates) {
      if (w.inFlight < min) min = w.inFlight;
      if (w.inFlight > max) max = w.inFlight;
    }
    return max - min > this.params.balanceAbsThreshold && max > this.params.balanceRelThreshold * min;
  }
}
