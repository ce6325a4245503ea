// Session affinity, the design's default: jump consistent hash of the session id over *all* workers
// of the model (so affinity survives a worker going unhealthy and coming back), with a load-aware
// fallback: when the hashed worker is not a candidate (unhealthy, open breaker, full) or its load
// exceeds `overloadFraction`, the least-loaded candidate takes the request. Requests without a
// session hash the request's prefix (first block) so identical prompts still meet their cache.
//
// Parameters: overloadFraction — load (inFlight / maxConcurrent) at or above which we fall back.
import type { InferenceRequest } from '../types.js';
import { fnv1a32 } from '../util/hash.js';
import { jumpHash } from './jump-hash.js';
import { candidateById, leastLoaded, loadScore, type RoutingContext, type RoutingPolicy, type WorkerView } from './policy.js';

export class SessionAffinityPolicy implements RoutingPolicy {
  readonly name = 'session-affinity';
  constructor(private readonly overloadFraction: number) {}

  pick(req: InferenceRequest, candidates: readonly WorkerView[], ctx: RoutingContext): WorkerView | undefined {
    if (candidates.length === 0) return undefined;
    const key = routingKey(req);
    if (key !== undefined && ctx.allWorkerIds.length > 0) {
      const targetId = ctx.allWorkerIds[jumpHash(key, ctx.allWorkerIds.length)]!;
      const target = candidateById(targetId, candidates, ctx);
      if (target !== undefined && loadScore(target) < this.overloadFraction) return target;
    }
    return leastLoaded(candidates);
  }
}

function routingKey(req: InferenceRequest): number | undefined {
  if (req.sessionId !== undefined) return fnv1a32(req.sessionId);
  return req.prefixBlocks[0];
}
