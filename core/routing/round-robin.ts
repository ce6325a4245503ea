// Round-robin over the candidates: a counter modulo the candidate count. Ignores load entirely.
import type { RoutingPolicy, WorkerView } from './policy.js';

export class RoundRobinPolicy implements RoutingPolicy {
  readonly name = 'round-robin';
  private next = 0;

  pick(_req: unknown, candidates: readonly WorkerView[]): WorkerView | undefined {
    if (candidates.length === 0) return undefined;
    const chosen = candidates[this.next % candidates.length];
    this.next = (this.next + 1) % 1_000_000_007;
    return chosen;
  }
}
