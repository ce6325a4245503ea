// Accounting of every request the gateway core has seen. Each arrival ends in exactly one outcome;
// `arrived − Σ outcomes` is the number of requests still in progress.
import type { ErrorCode } from '../errors.js';

export type Outcome = 'served' | 'cached' | 'deduped' | 'coalesced' | 'rejected' | 'failed' | 'cancelled';

export class OutcomeCounters {
  arrived = 0;
  retries = 0;
  /** Completion tokens that followers received without the worker generating them again. */
  tokensSaved = 0;
  readonly byOutcome: Record<Outcome, number> = { served: 0, cached: 0, deduped: 0, coalesced: 0, rejected: 0, failed: 0, cancelled: 0 };
  readonly byCode: Partial<Record<ErrorCode, number>> = {};

  count(o: Outcome): void {
    this.byOutcome[o]++;
  }

  countCode(code: ErrorCode): void {
    this.byCode[code] = (this.byCode[code] ?? 0) + 1;
  }

  finished(): number {
    let n = 0;
    for (const v of Object.values(this.byOutcome)) n += v;
    return n;
  }

  snapshot() {
    return { arrived: this.arrived, finished: this.finished(), retries: this.retries, tokensSaved: this.tokensSaved, byOutcome: { ...this.byOutcome }, byCode: { ...this.byCode } };
  }
}
