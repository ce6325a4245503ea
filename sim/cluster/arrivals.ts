// Adapters from the workload generators to the cluster's ArrivalDriver: open loop pulls the next
// arrival as soon as the previous one is scheduled; closed loop reacts to each request's end.
import type { RequestId } from '../../core/types.js';
import type { Seed } from '../rng/index.js';
import { ClosedLoopWorkload } from '../workload/closed-loop.js';
import { OpenLoopWorkload } from '../workload/open-loop.js';
import { MixedWorkload } from '../workload/mix.js';
import type { ArrivalSource, ClosedLoopConfig, MixConfig, OpenLoopConfig, SimRequest } from '../workload/types.js';
import type { ArrivalDriver } from './cluster.js';

export function openLoopArrivals(source: ArrivalSource): ArrivalDriver {
  return { start: () => [], next: () => source.next(), onFinished: () => undefined };
}

export function closedLoopArrivals(w: ClosedLoopWorkload): ArrivalDriver {
  return { start: (nowMs) => w.start(nowMs), next: () => undefined, onFinished: (id: RequestId, nowMs: number) => w.onFinished(id, nowMs) };
}

export type WorkloadSpec = OpenLoopConfig | { readonly type: 'closed' } & ClosedLoopConfig;

/** A fresh arrival driver for a workload spec; the same spec and seed give the same requests. */
export function arrivalsFor(spec: OpenLoopConfig | ClosedLoopConfig | MixConfig, seed: Seed): ArrivalDriver {
  if (spec.type === 'mix') return openLoopArrivals(new MixedWorkload(spec, seed));
  return spec.type === 'open' ? openLoopArrivals(new OpenLoopWorkload(spec, seed)) : closedLoopArrivals(new ClosedLoopWorkload(spec, seed));
}

export type { SimRequest };
