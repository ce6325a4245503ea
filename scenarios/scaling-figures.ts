// The scaling-signal scenario's figures (catalog/scaling.ts): the gateway core's desired workers
// (core/scaling/) sampled over a run whose offered rate steps up and down, against that rate.
//
// Per plateau i of the step profile (rate r_i from t_i to the next step), the matching count N_i is
// what the signal's own formula gives for the offered rate r_i with the service time W_i measured
// on that plateau's second half and no backlog: N_i = ceil(r_i·W_i / (c·ρ)) (core rawDesiredWorkers).
// The lead time of an upward step is how long after t_i the signal first reaches N_i: what an
// autoscaler reading the metric loses to the signal's observation window. For a downward step, the
// scale-down delay is how long after t_i the signal first falls to N_i (the stabilisation window
// on top of the observation window, by design).
import type { ScalingConfig } from '../core/config/types.js';
import { rawDesiredWorkers } from '../core/scaling/desired-workers.js';
import type { ScalingSample } from '../sim/cluster/cluster.js';
import type { RateProfile } from '../sim/workload/types.js';
import type { Curve } from '../reports/result.js';

/** The signal is sampled this often in the scenario (an autoscaler's scrape interval). */
export const SCALING_SAMPLE_MS = 5000;

interface Plateau {
  readonly startMs: number;
  readonly endMs: number;
  readonly rps: number;
  readonly workers: number;
}

function plateaus(samples: readonly ScalingSample[], rate: RateProfile, cfg: ScalingConfig): Plateau[] {
  if (rate.type !== 'step') throw new Error('scaling figures need a step rate profile');
  const endMs = samples.length > 0 ? samples[samples.length - 1]!.tMs + 1 : 0; // the last sample is in the last plateau
  return rate.steps.map((st, i) => {
    const until = rate.steps[i + 1]?.atMs ?? endMs;
    const second = samples.filter((s) => s.tMs >= (st.atMs + until) / 2 && s.tMs < until).flatMap((s) => (s.models[0]?.inputs.serviceMs !== undefined ? [s.models[0]] : []));
    const serviceMs = second.length === 0 ? undefined : second.reduce((a, m) => a + m.inputs.serviceMs!, 0) / second.length;
    const slots = second[0]?.inputs.slotsPerWorker ?? 0;
    const workers = rawDesiredWorkers({ arrivalsPerS: st.rps, completionsPerS: st.rps, serviceMs, inFlight: 0, queued: 0, workers: 0, slotsPerWorker: slots }, cfg).workers;
    return { startMs: st.atMs, endMs: until, rps: st.rps, workers };
  });
}

const desiredAt = (s: ScalingSample): number => s.models[0]?.desiredWorkers ?? 0;

/** Extra figures: per step its rate, matching count and lead time (or scale-down delay); −1 when never reached. */
export function figures(samples: readonly ScalingSample[], rate: RateProfile, cfg: ScalingConfig): Record<string, number> {
  const out: Record<string, number> = {};
  let leadMax = 0;
  let prev: Plateau | undefined;
  for (const [i, p] of plateaus(samples, rate, cfg).entries()) {
    out[`scalingStep${i}Rps`] = p.rps;
    out[`scalingStep${i}Workers`] = p.workers;
    if (prev !== undefined) {
      const up = p.workers > prev.workers;
      const hit = samples.find((s) => s.tMs >= p.startMs && s.tMs < p.endMs && (up ? desiredAt(s) >= p.workers : desiredAt(s) <= p.workers));
      const ms = hit === undefined ? -1 : hit.tMs - p.startMs;
      if (up) {
        out[`scalingStep${i}LeadTimeMs`] = ms;
        leadMax = ms < 0 || leadMax < 0 ? -1 : Math.max(leadMax, ms);
      } else if (p.workers < prev.workers) out[`scalingStep${i}ScaleDownMs`] = ms;
    }
    prev = p;
  }
  out.scalingLeadTimeMsMax = leadMax;
  out.scalingDesiredMax = samples.reduce((a, s) => Math.max(a, desiredAt(s)), 0);
  out.scalingSamples = samples.length;
  return out;
}

/** Desired workers over time beside the offered and measured arrival rates and the matching count. */
export function curve(samples: readonly ScalingSample[], rate: RateProfile, cfg: ScalingConfig): Curve {
  const ps = plateaus(samples, rate, cfg);
  const points: { series: string; x: number; y: number }[] = [];
  for (const s of samples) {
    const x = s.tMs / 1000;
    const p = [...ps].reverse().find((q) => q.startMs <= s.tMs);
    points.push({ series: 'desired workers (signal)', x, y: desiredAt(s) });
    if (p !== undefined) points.push({ series: 'workers matching the offered rate', x, y: p.workers }, { series: 'offered rate (req/s)', x, y: p.rps });
    points.push({ series: 'measured arrival rate (req/s)', x, y: Math.round((s.models[0]?.inputs.arrivalsPerS ?? 0) * 1000) / 1000 });
  }
  return { name: 'scaling-signal', xLabel: 'time (s)', yLabel: 'workers; requests per second', points };
}
