// The gateway core's timers: one heap of (time, kind, id), fired in time order (ties in the order
// armed), and the wake-up the core asks its driver for. A timer is never cancelled: when it fires, its
// handler checks that what it was armed for still holds (gateway-core.ts `fire`).
import { MinHeap } from '../util/min-heap.js';

export type TimerKind = 'batch' | 'retry' | 'queue' | 'progress' | 'follower' | 'heartbeat' | 'breaker';

export interface Timer {
  readonly atMs: number;
  readonly seq: number;
  readonly kind: TimerKind;
  readonly id: string;
}

export class Timers {
  private readonly heap = new MinHeap<Timer>((a, b) => a.atMs < b.atMs || (a.atMs === b.atMs && a.seq < b.seq));
  private seq = 0;
  /** The earliest wake-up already asked of the driver and not yet reached. */
  private wakeRequestedMs: number | undefined;

  arm(atMs: number, kind: TimerKind, id: string): void {
    this.heap.push({ atMs, seq: this.seq++, kind, id });
  }

  /** The next timer due at `nowMs`, removed; undefined when none is. Timers armed while firing are seen too. */
  popDue(nowMs: number): Timer | undefined {
    const top = this.heap.peek();
    if (top === undefined || top.atMs > nowMs) return undefined;
    return this.heap.pop();
  }

  /** The driver woke the core at `nowMs`: a wake-up asked for up to then is spent. */
  woke(nowMs: number): void {
    if (this.wakeRequestedMs !== undefined && nowMs >= this.wakeRequestedMs) this.wakeRequestedMs = undefined;
  }

  /** The time to ask the driver to wake the core at, when the earliest timer is earlier than what was asked; records it. */
  wakeToRequest(): number | undefined {
    const next = this.heap.peek();
    if (next === undefined || (this.wakeRequestedMs !== undefined && next.atMs >= this.wakeRequestedMs)) return undefined;
    this.wakeRequestedMs = next.atMs;
    return next.atMs;
  }
}
