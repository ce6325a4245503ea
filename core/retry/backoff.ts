// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
//   delay(attempt) = uniform(0, min(capMs, baseMs × 2^(attempt − 1)))   for attempt ≥ 1
// Full jitter spreads retries of a failed batch so they do not arrive at the same instant.
import type { Rng } from '../types.js';

export function fullJitterDelayMs(attempt: number, baseMs: number, capMs: number, rng: Rng): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return rng() * ceiling;
}

/** Largest exponent used (2^20 × base is far above any cap; keeps the product finite). */
export const EXPONENT_MAX = 20;

/**
 * Capped exponential backoff without jitter, for one process's own reconnect or restart (nothing to
 * desynchronise): delay(n) = min(capMs, baseMs × 2^n) for the n-th consecutive failure (n ≥ 0).
 */
export function cappedExponentialDelayMs(failures: number, baseMs: number, capMs: number): number {
  return Math.min(capMs, baseMs * 2 ** Math.min(Math.max(0, failures), EXPONENT_MAX));
}
