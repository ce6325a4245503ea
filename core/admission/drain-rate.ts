// How fast a model's requests finish on its workers: completions per second over a sliding window
// of whole buckets (a ring; time is passed in). The gateway uses it to predict how long a request
// joining the queue would wait — (requests ahead + 1) ÷ rate — and refuses at once, with that wait as
// Retry-After, a request that would only time out in the queue (admission.earlyRefusalFactor).
// The rate is unknown (undefined) until `samplesMin` completions fall within the window: a quiet or
// new model never refuses early.

export class DrainRate {
  private readonly counts: number[];
  private readonly bucketIds: number[];

  constructor(
    private readonly bucketMs: number,
    private readonly buckets: number,
    private readonly samplesMin: number,
  ) {
    if (!(bucketMs > 0) || !Number.isInteger(buckets) || buckets < 1) throw new Error(`DrainRate: bucketMs > 0 and an integer buckets >= 1 needed, got ${bucketMs}, ${buckets}`);
    this.counts = new Array<number>(buckets).fill(0);
    this.bucketIds = new Array<number>(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  record(nowMs: number): void {
    const b = Math.floor(nowMs / this.bucketMs);
    const i = b % this.buckets;
    if (this.bucketIds[i] !== b) {
      this.bucketIds[i] = b;
      this.counts[i] = 0;
    }
    this.counts[i]!++;
  }

  /** Completions per second over the window (from the oldest bucket with data to now), or undefined. */
  perSecond(nowMs: number): number | undefined {
    const b = Math.floor(nowMs / this.bucketMs);
    let total = 0;
    let oldest = b;
    for (let i = 0; i < this.buckets; i++) {
      const id = this.bucketIds[i]!;
      if (id > b - this.buckets && id <= b) {
        total += this.counts[i]!;
        if (id < oldest) oldest = id;
      }
    }
    if (total < this.samplesMin) return undefined;
    const spanMs = Math.max(this.bucketMs, nowMs - oldest * this.bucketMs);
    return (total * 1000) / spanMs;
  }
}
