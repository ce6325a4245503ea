// The simulation-based capacity planner: the smallest cluster of one hardware × model that meets the
// SLOs (TTFT p95, ITL p95, success 100 %) at a target request rate, found by running the cluster —
// the gateway core and modelled workers — at growing sizes and then bisecting.
//
// Meeting the SLO is assumed monotone in the worker count (more workers never hurt), so:
//   1. grow N geometrically (×2) from a physical lower bound until N meets the SLO (or N > workersMax);
//   2. bisect between the last failing and the first passing N.
// The lower bound is physics, not the design document's formula: every output token needs decode
// time, and a worker can emit at most maxSequences tokens per decode step at full batch, so
//   N ≥ targetRps × meanOutputTokens × stepMs(full batch) / (1000 × maxSequences).
import type { GatewayConfig } from '../../core/config/types.js';
import { openLoopArrivals } from '../cluster/arrivals.js';
import { runWindowMs, SimCluster } from '../cluster/cluster.js';
import type { LatencyModel } from '../latency/latency-model.js';
import { SimMetrics } from '../metrics/index.js';
import { OpenLoopWorkload } from '../workload/open-loop.js';
import type { OpenLoopConfig } from '../workload/types.js';

export interface CapacityQuery {
  readonly latency: LatencyModel;
  readonly workload: OpenLoopConfig;
  readonly gateway: GatewayConfig;
  readonly maxSequences: number;
  readonly slo: { readonly ttftP95Ms: number; readonly itlP95Ms: number };
  readonly seed: number;
  readonly workersMax: number;
  /** Mean output tokens of the workload (for the physical lower bound). */
  readonly meanOutputTokens: number;
  readonly meanPromptTokens: number;
  /**
   * A nearby answer (e.g. the same question under a slightly different assumption): the search starts
   * there and steps by ×1.25 instead of growing from the lower bound. With it, bisection stops when
   * the bracket is within `relativeTolerance` of the answer (the answer may then be that much high).
   */
  readonly hint?: number;
  readonly relativeTolerance?: number;
}

export interface CapacityTrial {
  readonly workers: number;
  readonly meets: boolean;
  readonly ttftP95Ms: number;
  readonly itlP95Ms: number;
  readonly successRate: number;
  readonly outputTokPerS: number;
}

export interface CapacityAnswer {
  /** Smallest worker count meeting the SLO, or null if none up to workersMax does. */
  readonly workers: number | null;
  readonly lowerBound: number;
  readonly trials: readonly CapacityTrial[];
}

export function physicalLowerBound(q: Pick<CapacityQuery, 'latency' | 'workload' | 'maxSequences' | 'meanOutputTokens' | 'meanPromptTokens'>, targetRps: number): number {
  const ctx = q.maxSequences * (q.meanPromptTokens + q.meanOutputTokens / 2);
  const stepMs = q.latency.decodeStepMs(q.maxSequences, ctx);
  return Math.max(1, Math.ceil((targetRps * q.meanOutputTokens * stepMs) / (1000 * q.maxSequences)));
}

export function trial(q: CapacityQuery, workers: number): CapacityTrial {
  const metrics = new SimMetrics();
  const cluster = new SimCluster(
    {
      mode: { type: 'gateway', config: q.gateway },
      model: q.workload.model,
      seed: q.seed,
      workers: Array.from({ length: workers }, (_, i) => ({ id: `w${String(i).padStart(4, '0')}`, latency: q.latency, maxSequences: q.maxSequences, maxQueuedSequences: 10_000, startWarm: true })),
    },
    openLoopArrivals(new OpenLoopWorkload(q.workload, q.seed)),
    metrics,
  );
  const r = cluster.run();
  const s = metrics.summarize(runWindowMs(r));
  const finished = s.requests.completed + s.requests.failed + s.requests.rejected + r.unfinished;
  const successRate = finished > 0 ? s.requests.completed / finished : 1;
  const ttft = s.latencyMs.ttft_ms.p95;
  const itl = s.latencyMs.itl_ms.p95;
  return { workers, meets: successRate === 1 && ttft <= q.slo.ttftP95Ms && itl <= q.slo.itlP95Ms, ttftP95Ms: ttft, itlP95Ms: itl, successRate, outputTokPerS: s.throughput.outputTokensPerSec };
}

export function planCapacity(q: CapacityQuery): CapacityAnswer {
  const rps = q.workload.rate.type === 'constant' ? q.workload.rate.rps : Number.NaN;
  if (!Number.isFinite(rps)) throw new Error('planCapacity: the workload needs a constant rate');
  const lowerBound = Math.min(q.workersMax, physicalLowerBound(q, rps));
  const trials: CapacityTrial[] = [];
  const tryN = (n: number): boolean => {
    const t = trial(q, n);
    trials.push(t);
    return t.meets;
  };
  let lo = lowerBound - 1; // known (or assumed) failing
  let hi = lowerBound;
  if (q.hint !== undefined && q.hint > lowerBound) {
    // Bracket around the hint, stepping by ×1.25.
    hi = Math.min(q.workersMax, Math.round(q.hint));
    if (tryN(hi)) {
      for (let down = Math.max(lowerBound, Math.floor(hi / 1.25)); down < hi && down > lo; down = Math.max(lowerBound, Math.floor(hi / 1.25))) {
        if (!tryN(down)) {
          lo = down;
          break;
        }
        hi = down;
        if (down === lowerBound) break;
      }
    } else {
      do {
        if (hi >= q.workersMax) return { workers: null, lowerBound, trials };
        lo = hi;
        hi = Math.min(q.workersMax, Math.ceil(hi * 1.25));
      } while (!tryN(hi));
    }
  } else {
    while (!tryN(hi)) {
      lo = hi;
      if (hi >= q.workersMax) return { workers: null, lowerBound, trials };
      hi = Math.min(q.workersMax, hi * 2);
    }
  }
  const tol = q.relativeTolerance ?? 0;
  while (hi - lo > Math.max(1, Math.floor(tol * hi))) {
    const mid = Math.floor((lo + hi) / 2);
    if (tryN(mid)) hi = mid;
    else lo = mid;
  }
  return { workers: hi, lowerBound, trials };
}
