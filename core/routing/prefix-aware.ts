// Prefix (cache) aware routing, after SGLang's cache-aware router. The policy remembers which
// workers recently received each prompt block (chained block hashes: a block's hash covers its whole
// prefix, so a worker holding block i holds the prefix up to i) in one LRU bounded by `blocksMax`.
// The request goes to the candidate with the longest shared prefix (least loaded among ties),
// provided the cluster is balanced:
//   imbalanced ⇔ maxLoad − minLoad > balanceAbsThreshold  and  maxLoad > balanceRelThreshold × minLoad
// (loads in in-flight requests). When imbalanced, or no candidate shares at least `minMatchBlocks`
// blocks, the least-loaded candidate wins, so one hot prefix cannot pin all traffic to one worker.
// Cost: O(blocks) map lookups to find the longest match, plus O(candidates) per matching level.
import type { InferenceRequest, WorkerId } from '../types.js';
import { Lru } from '../caching/lru.js';
import { candidateById, leastLoaded, type RoutingContext, type RoutingPolicy, type WorkerView } from './policy.js';

export interface PrefixAwareParams {
  readonly blocksMax: number;
  readonly minMatchBlocks: number;
  readonly balanceAbsThreshold: number;
  readonly balanceRelThreshold: number;
}

/** Workers that hold a block are few; a block remembers at most this many (most recent kept). */
const OWNERS_PER_BLOCK_MAX = 8;

export class PrefixAwarePolicy implements RoutingPolicy {
  readonly name = 'prefix-aware';
  private readonly owners: Lru<number, WorkerId[]>;
  constructor(private readonly params: PrefixAwareParams) {
    this.owners = new Lru(params.blocksMax);
  }

  pick(req: InferenceRequest, candidates: readonly WorkerView[], ctx?: RoutingContext): WorkerView | undefined {
    if (candidates.length <= 1) return candidates[0];
    if (this.imbalanced(candidates)) return leastLoaded(candidates);
    const blocks = req.prefixBlocks;
    for (let i = blocks.length - 1; i >= this.params.minMatchBlocks - 1; i--) {
      const owners = this.owners.peek(blocks[i]!);
      if (owners === undefined) continue;
      let best: WorkerView | undefined;
      for (const id of owners) {
        const w = candidateById(id, candidates, ctx);
        if (w !== undefined && (best === undefined || w.inFlight < best.inFlight || (w.inFlight === best.inFlight && w.id < best.id))) best = w;
      }
      if (best !== undefined) return best;
    }
    return leastLoaded(candidates);
  }

  onDispatch(workerId: WorkerId, req: InferenceRequest): void {
    for (const b of req.prefixBlocks) {
      const owners = this.owners.get(b);
      if (owners === undefined) this.owners.set(b, [workerId]);
      else if (!owners.includes(workerId)) {
        if (owners.length >= OWNERS_PER_BLOCK_MAX) owners.shift();
        owners.push(workerId);
      }
    }
  }

  onWorkerRemoved(workerId: WorkerId): void {
    for (const b of [...this.owners.keys()]) {
      const owners = this.owners.peek(b)!;
      const i = owners.indexOf(workerId);
      if (i >= 0) owners.splice(i, 1);
      if (owners.length === 0) this.owners.delete(b);
    }
  }

  /** Number of leading blocks of `prefixBlocks` that worker received (0 if none). */
  matchedBlocks(workerId: WorkerId, prefixBlocks: readonly number[]): number {
    for (let i = prefixBlocks.length - 1; i >= 0; i--) {
      if (this.owners.peek(prefixBlocks[i]!)?.includes(workerId) === true) return i + 1;
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
