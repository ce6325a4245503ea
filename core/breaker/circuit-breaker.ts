// A circuit breaker per worker: closed → open → half-open → closed | open.
//
//   closed    : requests flow. Opens when, over the last `errorWindowMs`, at least `volumeMin`
//               requests finished and the failure fraction exceeds `errorRateMax`; or on any timeout
//               (no progress for `timeoutMs`, reported by the gateway core); or after
//               `healthFailuresMax` consecutive failed health checks.
//   open      : no requests, for `cooldownMs`. Then half-open (checked lazily on the next query).
//   half-open : at most `halfOpenProbesMax` requests in flight. `halfOpenProbesMax` successes close
//               the breaker; any failure re-opens it for another cooldown.
//
// The window is a ring of 1-second buckets (bounded memory whatever the request rate).
import type { BreakerConfig } from '../config/types.js';
import { invariantFailed } from '../util/assert.js';

export type BreakerState = 'closed' | 'open' | 'half-open';

/** The breaker's parameters are its config section (core/config/types.ts) minus the on/off switch. */
export type BreakerParams = Omit<BreakerConfig, 'enabled'>;

/** Legal transitions; anything else is a bug (asserted). */
const LEGAL: Readonly<Record<BreakerState, readonly BreakerState[]>> = {
  closed: ['open'],
  open: ['half-open'],
  'half-open': ['closed', 'open'],
};

const BUCKET_MS = 1000;

export class CircuitBreaker {
  private stateNow: BreakerState = 'closed';
  private openedAtMs = 0;
  private probesInFlight = 0;
  private probeSuccesses = 0;
  private healthFailures = 0;
  private readonly okBuckets: Float64Array;
  private readonly failBuckets: Float64Array;
  private readonly bucketStamp: Float64Array;
  /** Every transition taken, for tests and metrics; bounded by transitionsMax. */
  readonly transitions: { fromState: BreakerState; toState: BreakerState; atMs: number }[] = [];
  private static readonly transitionsMax = 64;

  constructor(private readonly p: BreakerParams) {
    const n = Math.max(1, Math.ceil(p.errorWindowMs / BUCKET_MS));
    this.okBuckets = new Float64Array(n);
    this.failBuckets = new Float64Array(n);
    this.bucketStamp = new Float64Array(n).fill(-1);
  }

  state(nowMs: number): BreakerState {
    if (this.stateNow === 'open' && nowMs - this.openedAtMs >= this.p.cooldownMs) {
      this.transition('half-open', nowMs);
      this.probesInFlight = 0;
      this.probeSuccesses = 0;
    }
    return this.stateNow;
  }

  /** When an open breaker turns half-open; undefined unless open. */
  halfOpensAtMs(nowMs: number): number | undefined {
    return this.state(nowMs) === 'open' ? this.openedAtMs + this.p.cooldownMs : undefined;
  }

  /** Whether a request may be sent now (does not reserve; call onDispatch when it is sent). */
  allows(nowMs: number): boolean {
    const s = this.state(nowMs);
    return s === 'closed' || (s === 'half-open' && this.probesInFlight < this.p.halfOpenProbesMax);
  }

  onDispatch(nowMs: number): void {
    if (this.state(nowMs) === 'half-open') this.probesInFlight++;
  }

  onSuccess(nowMs: number): void {
    const s = this.state(nowMs);
    this.record(nowMs, true);
    if (s === 'half-open') {
      this.probesInFlight = Math.max(0, this.probesInFlight - 1);
      if (++this.probeSuccesses >= this.p.halfOpenProbesMax) this.transition('closed', nowMs);
    }
  }

  onFailure(nowMs: number): void {
    const s = this.state(nowMs);
    this.record(nowMs, false);
    if (s === 'half-open') this.open(nowMs);
    else if (s === 'closed' && this.errorRateExceeded(nowMs)) this.open(nowMs);
  }

  /** No progress for longer than timeoutMs: opens a closed or half-open breaker at once. */
  onTimeout(nowMs: number): void {
    const s = this.state(nowMs);
    this.record(nowMs, false);
    if (s !== 'open') this.open(nowMs);
  }

  onHealthCheck(ok: boolean, nowMs: number): void {
    if (ok) {
      this.healthFailures = 0;
      return;
    }
    this.healthFailures++;
    if (this.healthFailures >= this.p.healthFailuresMax && this.state(nowMs) !== 'open') this.open(nowMs);
  }

  private open(nowMs: number): void {
    this.transition('open', nowMs);
    this.openedAtMs = nowMs;
    this.probesInFlight = 0;
    this.probeSuccesses = 0;
    this.okBuckets.fill(0);
    this.failBuckets.fill(0);
  }

  private transition(to: BreakerState, nowMs: number): void {
    if (!LEGAL[this.stateNow].includes(to)) invariantFailed(`breaker transition ${this.stateNow} → ${to}`);
    if (this.transitions.length >= CircuitBreaker.transitionsMax) this.transitions.shift();
    this.transitions.push({ fromState: this.stateNow, toState: to, atMs: nowMs });
    this.stateNow = to;
  }

  private record(nowMs: number, ok: boolean): void {
    const slot = Math.floor(nowMs / BUCKET_MS);
    const i = slot % this.okBuckets.length;
    if (this.bucketStamp[i] !== slot) {
      this.bucketStamp[i] = slot;
      this.okBuckets[i] = 0;
      this.failBuckets[i] = 0;
    }
    if (ok) this.okBuckets[i]!++;
    else this.failBuckets[i]!++;
  }

  private errorRateExceeded(nowMs: number): boolean {
    const slot = Math.floor(nowMs / BUCKET_MS);
    const oldest = slot - this.okBuckets.length + 1;
    let ok = 0;
    let fail = 0;
    for (let i = 0; i < this.okBuckets.length; i++) {
      if (this.bucketStamp[i]! >= oldest) {
        ok += this.okBuckets[i]!;
        fail += this.failBuckets[i]!;
      }
    }
    const total = ok + fail;
    return total >= this.p.volumeMin && fail / total > this.p.errorRateMax;
  }
}
