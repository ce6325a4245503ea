// Public API of seeded randomness.
export { deriveRng, deriveSeed, type Rng, type Seed } from './rng.js';
export { exponential, gamma, lognormal, normal, uniformInt, zipfSampler, ZIPF_SIZE_MAX } from './samplers.js';
