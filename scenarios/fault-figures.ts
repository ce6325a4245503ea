// The extra figures of the fault scenarios (catalog/faults.ts), from what the simulated cluster
// recorded: the slowed worker's share of dispatches during its slow window, and the rolling restart's
// timings. Only scenarios with such a fault get these keys, so other results are unchanged.
import type { SimCluster } from '../sim/cluster/cluster.js';
import type { RollingReport } from '../sim/cluster/rolling.js';

/** Share of the requests dispatched during the slow window that went to the slowed worker (retries count). */
export function slowWorker(cluster: SimCluster, workerIndex: number): Record<string, number> {
  const all = cluster.dispatchesInWindow.reduce((a, b) => a + b, 0);
  const slow = cluster.dispatchesInWindow[workerIndex] ?? 0;
  return { slowWorkerShare: round3(all > 0 ? slow / all : 0), slowWorkerDispatches: slow, windowDispatches: all };
}

/**
 * The rolling restart: completed (1/0), total time (start to the last worker ready; −1 when it did
 * not end), fewest serving workers seen, requests cut by restarts, and per worker (w000, w001, …,
 * in restart order) the drain, restart (process down) and ready (model load, registration) times.
 */
export function rolling(r: RollingReport): Record<string, number> {
  const out: Record<string, number> = {
    rollingCompleted: r.phase === 'done' ? 1 : 0,
    rollingTotalMs: round3(r.totalMs),
    rollingWorkersRestarted: r.records.length,
    rollingMinServingWorkers: r.minServingWorkers,
    rollingCutInFlight: r.records.reduce((a, x) => a + x.cutInFlight, 0),
  };
  for (const x of r.records) {
    out[`${x.id}DrainMs`] = round3(x.drainMs);
    out[`${x.id}RestartMs`] = round3(x.restartMs);
    out[`${x.id}ReadyMs`] = round3(x.readyMs);
  }
  return out;
}

function round3(x: number): number {
  return Math.round(x * 1000) / 1000;
}
