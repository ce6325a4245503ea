// Samplers over an injected Rng. Formulas:
//   exponential(mean)      : -mean * ln(1 - u)
//   normal(mu, sigma)      : Marsaglia polar method (one of the pair is used; no hidden state)
//   gamma(shape, scale)    : Marsaglia-Tsang (2000); shape < 1 via gamma(shape + 1) * u^(1/shape)
//   lognormal(mean, cv)    : sigma^2 = ln(1 + cv^2), mu = ln(mean) - sigma^2 / 2 (so E = mean, CV = cv)
//   Zipf(n, s)             : P(k) ∝ 1 / k^s over k = 1..n, bounded hot set, inverse CDF by binary search
//   uniformInt(min, max)   : inclusive bounds
import type { Rng } from '../../core/types.js';

export function exponential(rng: Rng, mean: number): number {
  return -mean * Math.log(1 - rng());
}

export function normal(rng: Rng, mu = 0, sigma = 1): number {
  for (let i = 0; i < 1000; i++) {
    const x = 2 * rng() - 1;
    const y = 2 * rng() - 1;
    const s = x * x + y * y;
    if (s > 0 && s < 1) return mu + sigma * x * Math.sqrt((-2 * Math.log(s)) / s);
  }
  throw new Error('normal: rng produced 1000 rejected pairs (is it constant?)');
}

export function gamma(rng: Rng, shape: number, scale = 1): number {
  if (!(shape > 0) || !(scale > 0)) throw new Error(`gamma: shape and scale must be > 0, got ${shape}, ${scale}`);
  if (shape < 1) {
    const u = rng();
    return gamma(rng, shape + 1, scale) * Math.pow(u === 0 ? Number.MIN_VALUE : u, 1 / shape);
  }
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (let i = 0; i < 1000; i++) {
    let x: number;
    let v: number;
    do {
      x = normal(rng);
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rng();
    if (u < 1 - 0.0331 * x * x * x * x) return d * v * scale;
    if (Math.log(u) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v * scale;
  }
  throw new Error('gamma: 1000 rejections (is the rng constant?)');
}

/** A lognormal sample with the given mean and coefficient of variation. */
export function lognormal(rng: Rng, mean: number, cv: number): number {
  return lognormalSampler(mean, cv)(rng);
}

/**
 * lognormal(·, mean, cv) with mu and sigma computed once (issue 21: two logs and a square root per
 * sample otherwise, twice per simulated request). The same expressions, so the same samples.
 */
export function lognormalSampler(mean: number, cv: number): (rng: Rng) => number {
  if (!(mean > 0) || !(cv >= 0)) throw new Error(`lognormal: mean must be > 0 and cv >= 0, got ${mean}, ${cv}`);
  if (cv === 0) return () => mean;
  const sigma2 = Math.log(1 + cv * cv);
  const mu = Math.log(mean) - sigma2 / 2;
  const sigma = Math.sqrt(sigma2);
  return (rng) => Math.exp(normal(rng, mu, sigma));
}

/** Integer in [min, max], both inclusive. */
export function uniformInt(rng: Rng, min: number, max: number): number {
  if (!Number.isInteger(min) || !Number.isInteger(max) || max < min) throw new Error(`uniformInt: need integers min <= max, got ${min}, ${max}`);
  return min + Math.floor(rng() * (max - min + 1));
}

export const ZIPF_SIZE_MAX = 1_000_000;

/** A Zipf sampler over ranks 1..n (bounded hot set), P(k) ∝ k^-s. Precomputes the CDF (n floats). */
export function zipfSampler(rng: Rng, n: number, s: number): () => number {
  if (!Number.isInteger(n) || n < 1 || n > ZIPF_SIZE_MAX) throw new Error(`zipf: n must be an integer in [1, ${ZIPF_SIZE_MAX}], got ${n}`);
  if (!(s >= 0) || !Number.isFinite(s)) throw new Error(`zipf: exponent must be finite and >= 0, got ${s}`);
  const cdf = new Float64Array(n);
  let sum = 0;
  for (let k = 1; k <= n; k++) {
    sum += 1 / Math.pow(k, s);
    cdf[k - 1] = sum;
  }
  for (let i = 0; i < n; i++) cdf[i]! /= sum;
  return () => {
    const u = rng();
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (cdf[mid]! > u) hi = mid;
      else lo = mid + 1;
    }
    return lo + 1;
  };
}
