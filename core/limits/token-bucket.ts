// A token bucket: capacity `burst`, refilled continuously at `refillPerMs`. Time is passed in; a
// bucket never holds more than its burst, so it never grants more than burst + rate × elapsed.
export class TokenBucket {
  private tokens: number;
  private lastMs: number;

  constructor(
    readonly burst: number,
    readonly refillPerMs: number,
    nowMs: number,
  ) {
    this.tokens = burst;
    this.lastMs = nowMs;
  }

  /** Takes `cost` tokens if available now. */
  tryTake(cost: number, nowMs: number): boolean {
    this.refill(nowMs);
    if (cost > this.tokens) return false;
    this.tokens -= cost;
    return true;
  }

  /** Takes `cost` even into debt (for tokens only known after the fact, e.g. completion tokens). */
  charge(cost: number, nowMs: number): void {
    this.refill(nowMs);
    this.tokens -= cost;
  }

  /** Milliseconds until `cost` tokens are available (0 if they are now; Infinity if cost > burst). */
  waitMs(cost: number, nowMs: number): number {
    this.refill(nowMs);
    if (cost <= this.tokens) return 0;
    if (cost > this.burst || this.refillPerMs <= 0) return Number.POSITIVE_INFINITY;
    return Math.ceil((cost - this.tokens) / this.refillPerMs);
  }

  available(nowMs: number): number {
    this.refill(nowMs);
    return this.tokens;
  }

  private refill(nowMs: number): void {
    if (nowMs > this.lastMs) {
      this.tokens = Math.min(this.burst, this.tokens + (nowMs - this.lastMs) * this.refillPerMs);
      this.lastMs = nowMs;
    }
  }
}
