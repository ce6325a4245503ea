// The architecture document's sizing formula:
//   N = ceil(targetRps × avgLatencyS / (maxConcurrent × cacheHitRate))
// then headroom for peaks: ceil(N × (1 + headroomFraction)).
// Example from the document: 100 RPS, 2 s, 4 concurrent, 0.85 → ceil(58.82) = 59 workers; 20–30 %
// headroom → 71–77. Note what the formula assumes: every worker sustains `maxConcurrent` requests of
// `avgLatencyS` each, independent of batch size; the simulation search (sim/) checks that against a
// latency model. Dividing by the hit rate is the document's choice (a hit rate < 1 raises N); we keep
// it so the reference example reproduces, and report the simulated answer beside it.
import { ConfigError } from '../config/config-error.js';

export interface FormulaInput {
  readonly targetRps: number;
  readonly avgLatencyS: number;
  readonly maxConcurrent: number;
  readonly cacheHitRate: number;
  readonly headroomFraction?: number;
}

export interface FormulaResult {
  readonly workers: number;
  readonly workersWithHeadroom: number;
  readonly exact: number;
}

export function workersByFormula(input: FormulaInput): FormulaResult {
  const { targetRps, avgLatencyS, maxConcurrent, cacheHitRate } = input;
  const headroom = input.headroomFraction ?? 0.25;
  if (!(targetRps > 0)) throw new ConfigError('targetRps', `must be > 0, got ${targetRps}`);
  if (!(avgLatencyS > 0)) throw new ConfigError('avgLatencyS', `must be > 0, got ${avgLatencyS}`);
  if (!(maxConcurrent >= 1)) throw new ConfigError('maxConcurrent', `must be ≥ 1, got ${maxConcurrent}`);
  if (!(cacheHitRate > 0 && cacheHitRate <= 1)) throw new ConfigError('cacheHitRate', `must be in (0, 1], got ${cacheHitRate}`);
  if (!(headroom >= 0)) throw new ConfigError('headroomFraction', `must be ≥ 0, got ${headroom}`);
  const exact = (targetRps * avgLatencyS) / (maxConcurrent * cacheHitRate);
  const workers = Math.ceil(exact - 1e-9);
  return { exact, workers, workersWithHeadroom: Math.ceil(workers * (1 + headroom) - 1e-9) };
}
