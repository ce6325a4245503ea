// The warmup pool: a number of pre-allocated, pre-warmed sequence slots (10–20 % of a worker's
// capacity in the architecture document) so that the first request of a new session skips the cold
// path (cache allocation, first-call compilation). Taking a slot consumes it; slots are refilled one
// at a time when the worker is idle, each refill taking `refillMs`.
import { invariant } from '../util/assert.js';

export interface WarmupPoolParams {
  readonly slots: number;
  readonly refillMs: number;
}

export class WarmupPool {
  private warm: number;
  private refillDoneAtMs: number | undefined;

  constructor(private readonly p: WarmupPoolParams) {
    invariant(p.slots >= 0, 'warmup slots must be ≥ 0');
    this.warm = p.slots;
  }

  /** Slots for a worker of `maxConcurrent` at `fraction` of capacity (at least 1 when fraction > 0). */
  static slotsFor(maxConcurrent: number, fraction: number): number {
    return fraction <= 0 ? 0 : Math.max(1, Math.round(maxConcurrent * fraction));
  }

  /** Takes a warm slot if one is ready; returns whether the request starts warm. */
  take(nowMs: number): boolean {
    this.settle(nowMs);
    if (this.warm === 0) return false;
    this.warm--;
    return true;
  }

  /** Starts refilling one slot if the worker is idle and the pool is short; returns when it is done. */
  refillWhenIdle(idle: boolean, nowMs: number): number | undefined {
    this.settle(nowMs);
    if (!idle || this.warm >= this.p.slots || this.refillDoneAtMs !== undefined) return this.refillDoneAtMs;
    this.refillDoneAtMs = nowMs + this.p.refillMs;
    return this.refillDoneAtMs;
  }

  warmSlots(nowMs: number): number {
    this.settle(nowMs);
    return this.warm;
  }

  private settle(nowMs: number): void {
    if (this.refillDoneAtMs !== undefined && nowMs >= this.refillDoneAtMs) {
      this.warm = Math.min(this.p.slots, this.warm + 1);
      this.refillDoneAtMs = undefined;
    }
  }
}
