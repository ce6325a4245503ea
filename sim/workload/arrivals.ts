// Arrival times of an open loop with a time-varying rate, by time rescaling: inter-arrival gaps are
// drawn in operational time (mean 1: exponential for Poisson, gamma with shape 1/CV² and scale CV²
// for a bursty renewal process) and mapped back through the integrated rate Λ(t) = ∫ rate.
// Rate profiles are piecewise constant, so Λ is piecewise linear and its inverse exact.
import type { Rng } from '../../core/types.js';
import { exponential, gamma } from '../rng/samplers.js';
import { checkNumber, WorkloadError, type ArrivalProcess, type RateProfile } from './types.js';

export const RATE_SEGMENTS_MAX = 10_000;

interface Segment { startMs: number; ratePerMs: number }

export function validateRate(field: string, r: RateProfile): Segment[] {
  const seg = (startMs: number, rps: number): Segment => ({ startMs, ratePerMs: rps / 1000 });
  switch (r?.type) {
    case 'constant':
      checkNumber(`${field}.rps`, r.rps, { min: 0, exclusiveMin: true });
      return [seg(0, r.rps)];
    case 'step': {
      if (!Array.isArray(r.steps) || r.steps.length === 0) throw new WorkloadError(`${field}.steps`, 'must be a non-empty array');
      if (r.steps.length > RATE_SEGMENTS_MAX) throw new WorkloadError(`${field}.steps`, `must have at most ${RATE_SEGMENTS_MAX} entries`);
      r.steps.forEach((s, i) => {
        checkNumber(`${field}.steps[${i}].atMs`, s.atMs, { min: i === 0 ? 0 : r.steps[i - 1]!.atMs, exclusiveMin: i > 0 });
        checkNumber(`${field}.steps[${i}].rps`, s.rps, { min: 0 });
      });
      if (r.steps[0]!.atMs !== 0) throw new WorkloadError(`${field}.steps[0].atMs`, `must be 0, got ${r.steps[0]!.atMs}`);
      return r.steps.map((s) => seg(s.atMs, s.rps));
    }
    case 'spike':
      checkNumber(`${field}.baseRps`, r.baseRps, { min: 0 });
      checkNumber(`${field}.spikeRps`, r.spikeRps, { min: 0 });
      checkNumber(`${field}.startMs`, r.startMs, { min: 0, exclusiveMin: true });
      checkNumber(`${field}.durationMs`, r.durationMs, { min: 0, exclusiveMin: true });
      return [seg(0, r.baseRps), seg(r.startMs, r.spikeRps), seg(r.startMs + r.durationMs, r.baseRps)];
    default:
      throw new WorkloadError(`${field}.type`, `must be 'constant', 'step' or 'spike', got ${JSON.stringify((r as { type?: unknown } | undefined)?.type)}`);
  }
}

export function validateArrival(field: string, a: ArrivalProcess): ArrivalProcess {
  if (a?.type === 'poisson') return a;
  if (a?.type === 'gamma') {
    checkNumber(`${field}.cv`, a.cv, { min: 0, exclusiveMin: true, max: 100 });
    return a;
  }
  throw new WorkloadError(`${field}.type`, `must be 'poisson' or 'gamma', got ${JSON.stringify((a as { type?: unknown } | undefined)?.type)}`);
}

/** Successive arrival times for a rate profile and arrival process. */
export class ArrivalClock {
  private readonly segs: Segment[];
  private seg = 0;
  private lambdaAtSegStart = 0; // Λ(segs[seg].startMs)
  private lambda = 0; // operational time of the last arrival
  private readonly shape: number;
  private readonly scale: number;

  constructor(rate: RateProfile, private readonly process: ArrivalProcess, private readonly rng: Rng) {
    this.segs = validateRate('rate', rate);
    validateArrival('arrival', process);
    const cv = process.type === 'gamma' ? process.cv : 1;
    this.shape = 1 / (cv * cv);
    this.scale = cv * cv;
  }

  /** The next arrival time in ms, or Infinity if the rate stays 0 forever. */
  next(): number {
    const gap = this.process.type === 'poisson' ? exponential(this.rng, 1) : gamma(this.rng, this.shape, this.scale);
    this.lambda += gap;
    for (;;) {
      const s = this.segs[this.seg]!;
      const nextSeg = this.segs[this.seg + 1];
      const endLambda = nextSeg ? this.lambdaAtSegStart + s.ratePerMs * (nextSeg.startMs - s.startMs) : Infinity;
      if (this.lambda <= endLambda) {
        if (s.ratePerMs === 0) return Infinity; // only reachable for the last segment
        return s.startMs + (this.lambda - this.lambdaAtSegStart) / s.ratePerMs;
      }
      this.lambdaAtSegStart = endLambda;
      this.seg++;
    }
  }
}
