// Warmup, so that the first request of a new session does not pay a cold start.
//
// Two mechanisms:
// 1. Every new runtime gets `warmupGenerate` before it is marked alive: one short completion and one
//    short chat generate. The first generate of a fresh MLX process compiles kernels and allocates
//    its caches (measured ~0.8 s on the tiny model on a 2-core box, against ~10 ms per token after).
// 2. core's WarmupPool keeps `slots` pre-warmed sequence slots (warmupPoolFraction of maxConcurrent).
//    The first request of a new session takes a slot (a warm start); when the node is idle the pool
//    refills one slot at a time, and each refill sends a short generate to the runtime that has been
//    idle longest, so its allocations stay hot. A request that finds no warm slot is a cold start.
//    Both are counted in Stats-side counters (warmStarts, coldStarts, warmupRequests).
import { WarmupPool } from '../../core/index.js';
import type { Clock } from '../shared/clock.js';
import type { RuntimeClient } from './runtime-client.js';

export interface WarmupParams {
  /** Fraction of maxConcurrent kept as warm slots (core's warmupPoolFraction). */
  readonly poolFraction: number;
  /** Time one refill takes (core's warmupRefillMs). */
  readonly refillMs: number;
  /** How often the idle check runs; 0 disables idle warmup. */
  readonly idleCheckMs: number;
  /** Timeout of one warmup generate. */
  readonly requestTimeoutMs: number;
}

let warmupSeq = 0;

/** A short completion and a short chat generate on a fresh runtime (errors propagate: a failed start). */
export async function warmupGenerate(client: RuntimeClient, modelId: string, timeoutMs: number): Promise<void> {
  const base = { model: modelId, max_tokens: 2, temperature: 0 };
  const a = client.generate({ ...base, request_id: `warmup-${++warmupSeq}`, prompt: 'Warm up.' }, () => undefined, { timeoutMs });
  const b = client.generate({ ...base, request_id: `warmup-${++warmupSeq}`, messages: [{ role: 'user', content: 'Warm up.' }] }, () => undefined, { timeoutMs });
  await Promise.all([a.result, b.result]);
}

export interface WarmupTarget {
  /** The runtime idle the longest, or undefined when none is alive and idle. */
  idlestRuntime(): { client: RuntimeClient; modelId: string; markUsed(nowMs: number): void } | undefined;
  /** No request running on this node. */
  idle(): boolean;
}

export class WarmupScheduler {
  readonly pool: WarmupPool;
  warmStarts = 0;
  coldStarts = 0;
  warmupRequests = 0;
  warmupFailures = 0;
  private timer: NodeJS.Timeout | undefined;
  private refillDoneAtMs: number | undefined;

  constructor(
    maxConcurrent: number,
    private readonly p: WarmupParams,
    private readonly clock: Clock,
    private readonly target: WarmupTarget,
  ) {
    this.pool = new WarmupPool({ slots: WarmupPool.slotsFor(maxConcurrent, p.poolFraction), refillMs: p.refillMs });
  }

  start(): void {
    if (this.p.idleCheckMs <= 0 || this.timer !== undefined) return;
    this.timer = setInterval(() => this.tick(), this.p.idleCheckMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer !== undefined) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** The first request of a session (or a request with no session) arrives: warm or cold start. */
  onNewSession(): boolean {
    const warm = this.pool.take(this.clock.nowMs());
    if (warm) this.warmStarts++;
    else this.coldStarts++;
    return warm;
  }

  warmSlots(): number {
    return this.pool.warmSlots(this.clock.nowMs());
  }

  /** One idle check: start a refill when idle and short of slots; each refill warms one runtime. */
  tick(): void {
    const nowMs = this.clock.nowMs();
    const doneAt = this.pool.refillWhenIdle(this.target.idle(), nowMs);
    if (doneAt === undefined || doneAt === this.refillDoneAtMs) return;
    this.refillDoneAtMs = doneAt;
    const rt = this.target.idlestRuntime();
    if (rt === undefined) return;
    rt.markUsed(nowMs);
    this.warmupRequests++;
    const call = rt.client.generate({ request_id: `warmup-${++warmupSeq}`, model: rt.modelId, prompt: 'Warm up.', max_tokens: 1, temperature: 0 }, () => undefined, { timeoutMs: this.p.requestTimeoutMs });
    call.result.catch(() => {
      this.warmupFailures++;
    });
  }
}
