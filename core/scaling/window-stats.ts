// A count and a sum of values over a sliding window of whole buckets (a ring; time is passed in):
// arrivals per second, completions per second and their mean service time for the scaling signal.
// The same bucketing as core/admission/drain-rate.ts; the rate's span runs from the oldest bucket
// with data to now, at least one bucket, so a model that just started is not read as idle.

export class WindowStats {
  private readonly counts: number[];
  private readonly sums: number[];
  private readonly bucketIds: number[];

  constructor(
    private readonly bucketMs: number,
    private readonly buckets: number,
  ) {
    if (!(bucketMs > 0) || !Number.isInteger(buckets) || buckets < 1) throw new Error(`WindowStats: bucketMs > 0 and an integer buckets >= 1 needed, got ${bucketMs}, ${buckets}`);
    this.counts = new Array<number>(buckets).fill(0);
    this.sums = new Array<number>(buckets).fill(0);
    this.bucketIds = new Array<number>(buckets).fill(Number.NEGATIVE_INFINITY);
  }

  record(nowMs: number, value = 0): void {
    const b = Math.floor(nowMs / this.bucketMs);
    const i = b % this.buckets;
    if (this.bucketIds[i] !== b) {
      this.bucketIds[i] = b;
      this.counts[i] = 0;
      this.sums[i] = 0;
    }
    this.counts[i]!++;
    this.sums[i]! += value;
  }

  /** Events in the window, their values' sum, and the span they cover (ms). */
  read(nowMs: number): { readonly count: number; readonly sum: number; readonly spanMs: number } {
    const b = Math.floor(nowMs / this.bucketMs);
    let count = 0;
    let sum = 0;
    let oldest = b;
    for (let i = 0; i < this.buckets; i++) {
      const id = this.bucketIds[i]!;
      if (id > b - this.buckets && id <= b) {
        count += this.counts[i]!;
        sum += this.sums[i]!;
        if (id < oldest) oldest = id;
      }
    }
    return { count, sum, spanMs: Math.max(this.bucketMs, nowMs - oldest * this.bucketMs) };
  }
}
