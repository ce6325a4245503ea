// The live load's arrival source, built from the simulator's workload generators: the same seeded
// stream of requests the simulator runs (live/load takes the source and knows nothing of sim/).
import type { ArrivalSource } from '../../live/load/index.js';
import { ClosedLoopWorkload } from '../../sim/workload/closed-loop.js';
import { OpenLoopWorkload } from '../../sim/workload/open-loop.js';
import type { ClosedLoopConfig, OpenLoopConfig } from '../../sim/workload/types.js';

export function arrivalsOf(workload: OpenLoopConfig | ClosedLoopConfig, seed: number): ArrivalSource {
  if (workload.type === 'closed') {
    const w = new ClosedLoopWorkload(workload, seed);
    return { kind: 'closed', durationMs: workload.durationMs, start: (nowMs) => w.start(nowMs), onFinished: (id, nowMs) => w.onFinished(id, nowMs) };
  }
  const w = new OpenLoopWorkload(workload, seed);
  return { kind: 'open', durationMs: workload.durationMs, next: () => w.next() };
}
