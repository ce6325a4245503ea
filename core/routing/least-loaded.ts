// Least-loaded: the candidate with the lowest inFlight / maxConcurrent; ties to the first candidate.
import { leastLoaded, type RoutingPolicy, type WorkerView } from './policy.js';

export class LeastLoadedPolicy implements RoutingPolicy {
  readonly name = 'least-loaded';
  pick(_req: unknown, candidates: readonly WorkerView[]): WorkerView | undefined {
    return leastLoaded(candidates);
  }
}
