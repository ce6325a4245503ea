// Power of two choices (Mitzenmacher): sample two distinct candidates with the injected Rng and take
// the less loaded. Near least-loaded quality without scanning every worker, and no herding.
import { loadScore, type RoutingContext, type RoutingPolicy, type WorkerView } from './policy.js';

export class PowerOfTwoPolicy implements RoutingPolicy {
  readonly name = 'power-of-two';
  pick(_req: unknown, candidates: readonly WorkerView[], ctx: RoutingContext): WorkerView | undefined {
    const n = candidates.length;
    if (n <= 1) return candidates[0];
    const i = Math.floor(ctx.rng() * n);
    const j = (i + 1 + Math.floor(ctx.rng() * (n - 1))) % n;
    const a = candidates[i]!;
    const b = candidates[j]!;
    return loadScore(b) < loadScore(a) ? b : a;
  }
}
