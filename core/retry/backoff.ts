// Exponential backoff with full jitter (AWS Architecture Blog, "Exponential Backoff and Jitter"):
//   delay(attempt) = uniform(0, min(capMs, baseMs × 2^(attempt − 1)))   for attempt ≥ 1
// Full jitter spreads retries of a failed batch so they do not arrive at the same instant.
import type { Rng } from '../types.js';

export function fullJitterDelayMs(attempt: number, baseMs: number, capMs: number, rng: Rng): number {
  const ceiling = Math.min(capMs, baseMs * 2 ** Math.max(0, attempt - 1));
  return rng() * ceiling;
}
