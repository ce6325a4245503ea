// The canary's verdict (issue 19): keep it, or roll it back because it regresses against the stable
// version beyond the configured margins. Promotion is never automatic (an admin call).
//
// Over the same window, with n attempts ended of which e failed, and the p95 of the k times to first
// token seen (a first token is seen before its attempt ends: a slow canary is judged on its TTFT before
// its slow requests finish). Each check needs minRequests on both sides:
//   error regression    (n_c, n_s ≥ min)  e_c/n_c − e_s/n_s > maxErrorRateDelta        → rollback
//   latency regression  (k_c, k_s ≥ min)  p95_c > maxLatencyRatio · p95_s              → rollback
//   neither check has its samples yet                                                 → wait
//   otherwise                                                                         → keep
import type { CanaryMargins } from '../config/types.js';

export interface VersionFigures {
  /** Attempts that ended (served or failed) within the window. */
  readonly requests: number;
  /** Of those, attempts that failed on the worker (errors, timeouts). */
  readonly errors: number;
  /** First tokens seen within the window (time from dispatch to the attempt's first token). */
  readonly ttftSamples: number;
  /** Their p95 (ms); undefined when there is none. */
  readonly ttftP95Ms: number | undefined;
}

export type CanaryVerdict =
  | { readonly action: 'wait'; readonly reason: 'too-few-requests' }
  | { readonly action: 'keep' }
  | { readonly action: 'rollback'; readonly reason: 'error-rate' | 'latency'; readonly detail: string };

export function judgeCanary(stable: VersionFigures, canary: VersionFigures, m: CanaryMargins): CanaryVerdict {
  const errorsJudged = canary.requests >= m.minRequests && stable.requests >= m.minRequests;
  const latencyJudged = canary.ttftSamples >= m.minRequests && stable.ttftSamples >= m.minRequests;
  if (!errorsJudged && !latencyJudged) return { action: 'wait', reason: 'too-few-requests' };
  if (errorsJudged) {
    const rateC = canary.errors / canary.requests;
    const rateS = stable.errors / stable.requests;
    if (rateC - rateS > m.maxErrorRateDelta) {
      return { action: 'rollback', reason: 'error-rate', detail: `error rate ${pct(rateC)} vs stable ${pct(rateS)} (margin +${pct(m.maxErrorRateDelta)})` };
    }
  }
  const p95C = canary.ttftP95Ms;
  const p95S = stable.ttftP95Ms;
  if (latencyJudged && p95C !== undefined && p95S !== undefined && p95C > m.maxLatencyRatio * p95S) {
    return { action: 'rollback', reason: 'latency', detail: `TTFT p95 ${Math.round(p95C)} ms vs stable ${Math.round(p95S)} ms (margin ×${m.maxLatencyRatio})` };
  }
  return { action: 'keep' };
}

function pct(x: number): string {
  return `${(100 * x).toFixed(1)} %`;
}
