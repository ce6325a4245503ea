// The canary's verdict (issue 19): keep it, or roll it back because it regresses against the stable
// version beyond the configured margins. Promotion is never automatic (an admin call).
//
// Over the same window, with n requests of which e failed, and the p95 of their time to first token:
//   not enough data     n_canary < minRequests or n_stable < minRequests           → wait
//   error regression    e_c/n_c − e_s/n_s > maxErrorRateDelta                      → rollback
//   latency regression  p95_c > maxLatencyRatio · p95_s (both measured)            → rollback
//   otherwise                                                                      → keep
import type { CanaryMargins } from '../config/types.js';

export interface VersionFigures {
  /** Attempts that ended (served or failed) within the window. */
  readonly requests: number;
  /** Of those, attempts that failed on the worker (errors, timeouts). */
  readonly errors: number;
  /** p95 of the time to first token of the served ones (ms); undefined when none was served. */
  readonly ttftP95Ms: number | undefined;
}

export type CanaryVerdict =
  | { readonly action: 'wait'; readonly reason: 'too-few-requests' }
  | { readonly action: 'keep' }
  | { readonly action: 'rollback'; readonly reason: 'error-rate' | 'latency'; readonly detail: string };

export function judgeCanary(stable: VersionFigures, canary: VersionFigures, m: CanaryMargins): CanaryVerdict {
  if (canary.requests < m.minRequests || stable.requests < m.minRequests) return { action: 'wait', reason: 'too-few-requests' };
  const rateC = canary.errors / canary.requests;
  const rateS = stable.errors / stable.requests;
  if (rateC - rateS > m.maxErrorRateDelta) {
    return { action: 'rollback', reason: 'error-rate', detail: `error rate ${pct(rateC)} vs stable ${pct(rateS)} (margin +${pct(m.maxErrorRateDelta)})` };
  }
  if (canary.ttftP95Ms !== undefined && stable.ttftP95Ms !== undefined && canary.ttftP95Ms > m.maxLatencyRatio * stable.ttftP95Ms) {
    return { action: 'rollback', reason: 'latency', detail: `TTFT p95 ${Math.round(canary.ttftP95Ms)} ms vs stable ${Math.round(stable.ttftP95Ms)} ms (margin ×${m.maxLatencyRatio})` };
  }
  return { action: 'keep' };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}
