// The pool of python runtime processes serving one model on this worker node.
//
// Each slot runs one RuntimeProcess. A slot is `starting` (spawned, loading, warming up), `alive`
// (takes requests) or `backoff` (dead, waiting to restart). A dead runtime is restarted after
//   delayMs = min(restartMaxMs, restartBaseMs · 2^failures)
// where `failures` counts consecutive short lives: a runtime that stayed alive for stableAfterMs
// resets it to 0. Before a new runtime is marked alive it gets a warmup generate (see warmup.ts), so
// the first real request does not pay the first-call cost (kernel compilation, cache allocation).
//
// The pool does not own requests: the worker node counts each slot's in-flight requests and learns
// of a death from the failed calls (RuntimeGoneError) and from `onSlotDown`.
import type { Clock } from '../shared/clock.js';
import { cappedExponentialDelayMs, leastBy } from '../../core/index.js';
import { RuntimeProcess, type RuntimeSpawnOptions } from './runtime-process.js';
import type { RuntimeClient, RuntimeModelInfo } from './runtime-client.js';

export interface PoolParams {
  readonly size: number;
  readonly restartBaseMs: number;
  readonly restartMaxMs: number;
  readonly stableAfterMs: number;
}

export interface PoolHooks {
  /** Runs on a fresh runtime before it is marked alive (warmup); a throw counts as a failed start. */
  prepare?(client: RuntimeClient): Promise<void>;
  onSlotUp?(slot: RuntimeSlot): void;
  onSlotDown?(slot: RuntimeSlot, reason: string): void;
  log?(level: 'info' | 'warn', obj: object, msg: string): void;
}

export type SlotState = 'starting' | 'alive' | 'backoff' | 'stopped';

export interface RuntimeSlot {
  readonly index: number;
  readonly modelId: string;
  state: SlotState;
  proc: RuntimeProcess | undefined;
  /** Requests running on this slot (kept by the worker node). */
  inFlight: number;
  /** Times this slot's runtime was (re)started. */
  starts: number;
  failures: number;
  aliveSinceMs: number;
  lastUsedMs: number;
  lastError: string | undefined;
  /** The KV budget its runtime reported (stats `max_kv_bytes`, `kv_budget_source`) when it came up. */
  maxKvBytes: number | undefined;
  kvBudgetSource: string | undefined;
}


export class RuntimePool {
  readonly slots: RuntimeSlot[];
  /** Model facts from the first runtime that came up (KV bytes per token, context, size). */
  info: RuntimeModelInfo | undefined;
  /** The MLX device the latest runtime to come up reported in its `health` (e.g. "Device(gpu, 0)"). */
  device: string | undefined;
  /** The BLAS the latest runtime to come up reported in its `health` ("openblas", "reference (…)"). */
  blas: string | undefined;
  private readonly timers = new Set<NodeJS.Timeout>();
  private readonly waiters = new Set<() => void>();
  private stopped = false;

  constructor(
    readonly modelId: string,
    private readonly spawnOpts: RuntimeSpawnOptions,
    private readonly p: PoolParams,
    private readonly clock: Clock,
    private readonly hooks: PoolHooks = {},
  ) {
    if (!(p.size >= 1 && p.size <= 64)) throw new Error(`runtime pool size must be in [1, 64], got ${p.size}`);
    this.slots = Array.from({ length: p.size }, (_, index) => ({
      index, modelId, state: 'starting' as SlotState, proc: undefined, inFlight: 0, starts: 0, failures: 0, aliveSinceMs: 0, lastUsedMs: 0, lastError: undefined,
      maxKvBytes: undefined, kvBudgetSource: undefined,
    }));
  }

  /** Starts every slot; resolves when one is alive, rejects when all failed their first start. */
  async start(): Promise<void> {
    const results = await Promise.allSettled(this.slots.map((s) => this.launch(s)));
    if (this.aliveCount() > 0) return;
    const err = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    throw new Error(`model ${this.modelId}: no runtime started: ${(err?.reason as Error | undefined)?.message ?? 'unknown'}`);
  }

  /** The smallest KV budget reported by an alive runtime of this pool (undefined if none reported). */
  reportedMaxKvBytes(): { bytes: number; source: string } | undefined {
    let best: { bytes: number; source: string } | undefined;
    for (const s of this.slots) {
      if (s.state !== 'alive' || s.maxKvBytes === undefined) continue;
      if (best === undefined || s.maxKvBytes < best.bytes) best = { bytes: s.maxKvBytes, source: s.kvBudgetSource ?? 'unknown' };
    }
    return best;
  }

  aliveCount(): number {
    let n = 0;
    for (const s of this.slots) if (s.state === 'alive') n++;
    return n;
  }

  /** The alive slot with the fewest requests running, below `perSlotMax`; undefined if none. */
  pick(perSlotMax: number): RuntimeSlot | undefined {
    // core's one least-loaded rule: fewest sequences in flight, least recently used on a tie
    return leastBy(this.slots.filter((s) => s.state === 'alive' && s.inFlight < perSlotMax), (s) => s.inFlight, (a, b) => a.lastUsedMs < b.lastUsedMs);
  }

  /** Calls `fn` once, the next time a slot comes up or frees (returns an unsubscribe). */
  onceAvailable(fn: () => void): () => void {
    this.waiters.add(fn);
    return () => this.waiters.delete(fn);
  }

  /** A slot freed capacity (a request ended): wake waiters. */
  notifyAvailable(): void {
    if (this.waiters.size === 0) return;
    const ws = [...this.waiters];
    this.waiters.clear();
    for (const w of ws) w();
  }

  /** Kills one slot's runtime (tests: a crash). It is restarted like any dead runtime. */
  killSlot(index: number): void {
    this.slots[index]?.proc?.kill();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all(this.slots.map(async (s) => {
      s.state = 'stopped';
      await s.proc?.stop();
    }));
    this.notifyAvailable();
  }

  // ───────────────────────────── lifecycle ─────────────────────────────

  private async launch(slot: RuntimeSlot): Promise<void> {
    if (this.stopped) return;
    slot.state = 'starting';
    slot.starts++;
    const proc = new RuntimeProcess(this.spawnOpts);
    slot.proc = proc;
    const startedAtMs = this.clock.nowMs();
    void proc.exited.then(({ code, signal }) => this.onExit(slot, proc, signal ?? `code ${code}`));
    try {
      await proc.ready();
      this.device = proc.health?.device ?? this.device;
      this.blas = proc.health?.blas ?? this.blas;
      if (this.info === undefined) {
        const list = await proc.client.call('list_models', {}, { timeoutMs: 30_000 });
        this.info = list.models.find((m) => m.name === this.modelId);
      }
      // The budget the runtime sized for itself (after its model loaded): the node may adopt it.
      const st = await proc.client.call('stats', {}, { timeoutMs: 30_000 });
      slot.maxKvBytes = Number.isFinite(st.max_kv_bytes) && st.max_kv_bytes > 0 ? st.max_kv_bytes : undefined;
      slot.kvBudgetSource = st.kv_budget_source;
      await this.hooks.prepare?.(proc.client);
    } catch (err) {
      slot.lastError = (err as Error).message;
      this.hooks.log?.('warn', { model: this.modelId, slot: slot.index, err: slot.lastError }, 'runtime failed to start');
      proc.kill();
      throw err;
    }
    if (this.stopped || slot.proc !== proc || !proc.alive) return;
    slot.state = 'alive';
    slot.aliveSinceMs = this.clock.nowMs();
    slot.lastError = undefined;
    this.hooks.log?.('info', { model: this.modelId, slot: slot.index, pid: proc.pid, startMs: Math.round(slot.aliveSinceMs - startedAtMs), starts: slot.starts }, 'runtime up');
    this.hooks.onSlotUp?.(slot);
    this.notifyAvailable();
  }

  private onExit(slot: RuntimeSlot, proc: RuntimeProcess, how: string): void {
    if (slot.proc !== proc) return;
    const wasAlive = slot.state === 'alive';
    if (this.stopped || slot.state === 'stopped') return;
    const nowMs = this.clock.nowMs();
    if (wasAlive && nowMs - slot.aliveSinceMs >= this.p.stableAfterMs) slot.failures = 0;
    const delayMs = cappedExponentialDelayMs(slot.failures, this.p.restartBaseMs, this.p.restartMaxMs);
    slot.failures++;
    slot.state = 'backoff';
    slot.proc = undefined;
    slot.lastError = `runtime exited (${how})`;
    this.hooks.log?.('warn', { model: this.modelId, slot: slot.index, how, restartInMs: delayMs, failures: slot.failures }, 'runtime died');
    this.hooks.onSlotDown?.(slot, slot.lastError);
    const t = setTimeout(() => {
      this.timers.delete(t);
      this.launch(slot).catch(() => undefined); // a failed start exits, and onExit schedules the next try
    }, delayMs);
    this.timers.add(t);
  }
}
