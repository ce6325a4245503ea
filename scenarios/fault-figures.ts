// The extra figures of the fault scenarios (catalog/faults.ts), from what the simulated cluster
// recorded: the slowed worker's share of dispatches during its slow window, and the rolling restart's
// timings. Only scenarios with such a fault get these keys, so other results are unchanged.
import type { SimCluster } from '../sim/cluster/cluster.js';
import type { RollingReport } from '../sim/cluster/rolling.js';
import type { SimWorker } from '../sim/worker/worker.js';
import { round3 } from '../reports/format.js';

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

/**
 * Overload (catalog/degradation.ts): the gateway's refusals — how many, the share that are 503s and
 * carry a Retry-After, queue timeouts vs queue full, and how long a refused request waited for its
 * answer (mean, p95, max) — and the requests that failed rather than being refused.
 */
export function refusals(cluster: SimCluster, failed: number): Record<string, number> {
  const r = cluster.refusals;
  const waits = [...r.waitMs].sort((a, b) => a - b);
  const pct = (p: number) => (waits.length === 0 ? 0 : waits[Math.min(waits.length - 1, Math.ceil((p / 100) * waits.length) - 1)]!);
  return {
    refusals: r.count,
    refusal503Share: round3(r.count > 0 ? r.status503 / r.count : 1),
    refusalRetryAfterShare: round3(r.count > 0 ? r.withRetryAfter / r.count : 1),
    refusalQueueTimeouts: r.queueTimeouts,
    refusalQueueFull: r.queueFull,
    refusalWaitMeanMs: round3(waits.length > 0 ? waits.reduce((a, b) => a + b, 0) / waits.length : 0),
    refusalWaitP95Ms: round3(pct(95)),
    refusalWaitMaxMs: round3(waits.length > 0 ? waits[waits.length - 1]! : 0),
    failedNotRefused: failed,
  };
}

/** Runtime crashes (faults.crashes[].runtime): how many, and the requests lost before their first token (reported to the gateway core as runtime_lost). */
export function runtimeCrashes(workers: readonly SimWorker[]): Record<string, number> {
  return {
    runtimeCrashes: workers.reduce((a, w) => a + w.stats.runtimeCrashes, 0),
    runtimeLost: workers.reduce((a, w) => a + w.stats.runtimeLost, 0),
  };
}

/** A policy with requestTimeoutMs: requests the gateway timed out, and jobs the workers ended past their deadline themselves. */
export function deadlines(cluster: SimCluster, workers: readonly SimWorker[]): Record<string, number> {
  return {
    requestTimeouts: cluster.requestTimeouts,
    deadlineExceeded: workers.reduce((a, w) => a + w.stats.deadlineExceeded, 0),
  };
}

/** Scenarios whose policies set modelIdle: the workers' idle unloads, prewarms and cold starts (model loads). */
export function modelIdle(workers: readonly SimWorker[]): Record<string, number> {
  return {
    idleUnloads: workers.reduce((a, w) => a + w.stats.idleUnloads, 0),
    prewarms: workers.reduce((a, w) => a + w.stats.prewarms, 0),
    coldStarts: workers.reduce((a, w) => a + w.stats.coldStarts, 0),
  };
}
