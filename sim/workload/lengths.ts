// Token-length distributions: fixed, uniform (inclusive) and lognormal with mean/CV, clipped to
// [minTokens, maxTokens] and rounded to integers.
import type { Rng } from '../../core/types.js';
import { lognormalSampler, uniformInt } from '../rng/samplers.js';
import { checkNumber, WorkloadError, type LengthDist } from './types.js';

export const TOKENS_MAX = 1 << 20;

export function validateLength(field: string, d: LengthDist): LengthDist {
  switch (d?.type) {
    case 'fixed':
      checkNumber(`${field}.tokens`, d.tokens, { min: 1, max: TOKENS_MAX, integer: true });
      return d;
    case 'uniform':
      checkNumber(`${field}.minTokens`, d.minTokens, { min: 1, max: TOKENS_MAX, integer: true });
      checkNumber(`${field}.maxTokens`, d.maxTokens, { min: d.minTokens, max: TOKENS_MAX, integer: true });
      return d;
    case 'lognormal':
      checkNumber(`${field}.meanTokens`, d.meanTokens, { min: 1, max: TOKENS_MAX });
      checkNumber(`${field}.cv`, d.cv, { min: 0, max: 20 });
      checkNumber(`${field}.minTokens`, d.minTokens, { min: 1, max: TOKENS_MAX, integer: true });
      checkNumber(`${field}.maxTokens`, d.maxTokens, { min: d.minTokens, max: TOKENS_MAX, integer: true });
      return d;
    default:
      throw new WorkloadError(`${field}.type`, `must be 'fixed', 'uniform' or 'lognormal', got ${JSON.stringify((d as { type?: unknown } | undefined)?.type)}`);
  }
}

export function sampleLength(d: LengthDist, rng: Rng): number {
  return lengthSampler(d)(rng);
}

/** sampleLength(d, ·) with the distribution's constants computed once: for a workload's per-request draws. */
export function lengthSampler(d: LengthDist): (rng: Rng) => number {
  switch (d.type) {
    case 'fixed':
      return () => d.tokens;
    case 'uniform':
      return (rng) => uniformInt(rng, d.minTokens, d.maxTokens);
    case 'lognormal': {
      const draw = lognormalSampler(d.meanTokens, d.cv);
      const { minTokens, maxTokens } = d;
      return (rng) => {
        const x = Math.round(draw(rng));
        return x < minTokens ? minTokens : x > maxTokens ? maxTokens : x;
      };
    }
  }
}
