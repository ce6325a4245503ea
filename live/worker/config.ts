// The worker node's configuration, with every default in one place. Memory and warmup defaults are
// core's (DEFAULT_GATEWAY_CONFIG.memory), so sim and live govern a worker the same way.
import { totalmem } from 'node:os';
import { DEFAULT_GATEWAY_CONFIG } from '../../core/index.js';

export interface ModelSpec {
  /** The name clients ask for ("tiny"). */
  readonly id: string;
  /** Model directory (config.json, model.safetensors, tokenizer). */
  readonly path: string;
  /** Runtime processes for this model. */
  readonly runtimes: number;
}

export interface WorkerNodeConfig {
  readonly id: string;
  readonly models: readonly ModelSpec[];
  readonly pythonPath: string | undefined;
  /** Sequences running at once on this node, all models; beyond: Error `overloaded`. */
  readonly maxConcurrent: number;
  /** Sequences one runtime process runs at once (its --max-sequences). */
  readonly runtimeMaxSequences: number;
  /**
   * KV-cache budget of this node (the MemoryGovernor's capacity), also given to every runtime as its
   * --max-kv-bytes. Undefined (the default): each runtime sizes its own budget from the device it
   * computes on (GPU memory less weights, or 25 % of RAM on the CPU) and the node adopts the smallest
   * one its runtimes report; until one has, it governs with HOST_KV_FALLBACK_FRACTION of the host's RAM.
   */
  readonly kvCapacityBytes: number | undefined;
  /**
   * Memory for model weights on this node: Stats reports it less the bytes of the models loaded now
   * (memory_free_bytes), which the gateway's model placement reads (core.catalog). Undefined (the
   * default): not reported, and the gateway places by load alone.
   */
  readonly modelMemoryBytes: number | undefined;
  readonly watermarkFraction: number;
  readonly idleSessionsMax: number;
  readonly modelsMax: number;
  /** max_tokens when a request leaves it 0. */
  readonly defaultMaxTokens: number;
  readonly restart: { readonly baseMs: number; readonly maxMs: number; readonly stableAfterMs: number };
  /** How long a request waits for a runtime of its model (restarting, or all full). */
  readonly runtimeWaitMs: number;
  /** Requests waiting for a runtime, all models; beyond: Error `queue_full`. */
  readonly waitingMax: number;
  /**
   * A request the governor cannot give KV to now, though it would fit in an empty node, waits in the
   * node (first come, first served) until running requests free enough KV: at most kvWaitMs (or its
   * deadline), then Error `kv_capacity`. 0: refuse at once (the behaviour before issue 15).
   */
  readonly kvWaitMs: number;
  /** Requests waiting for KV at most; beyond: Error `kv_capacity` at once. They count toward maxConcurrent. */
  readonly kvWaitingMax: number;
  readonly warmup: {
    readonly poolFraction: number;
    readonly refillMs: number;
    readonly idleCheckMs: number;
    readonly requestTimeoutMs: number;
    /** Warm each new runtime before it takes requests. */
    readonly onStart: boolean;
  };
  readonly readyTimeoutMs: number;
  /**
   * A loaded model with no request for this long is unloaded (its runtimes stop); it stays configured
   * and reloads on its next request. Default core's memory.idleUnloadMs (600 000 ms); 0 disables.
   */
  readonly idleUnloadMs: number;
  /** How often idle models are looked for (default idleUnloadMs / 4, within [50, 10 000] ms). */
  readonly idleCheckMs: number;
  /** How long a request for an idle-unloaded model waits for it to reload; beyond: Error `runtime_unavailable`. */
  readonly reloadWaitMs: number;
  /**
   * Pre-warm: a model with at least `minRequests` requests in the last `windowMs` is hot: when it
   * turns idle it is kept loaded and its runtime gets a warmup generate instead of being unloaded.
   * minRequests 0 disables (every idle model unloads).
   */
  readonly prewarm: { readonly windowMs: number; readonly minRequests: number };
  /** Deadline of unary runtime calls (stats, embed, load). */
  readonly runtimeCallTimeoutMs: number;
}

export type WorkerNodeOptions = Partial<Omit<WorkerNodeConfig, 'restart' | 'warmup' | 'models' | 'prewarm'>> & {
  readonly prewarm?: Partial<WorkerNodeConfig['prewarm']>;
  readonly id: string;
  readonly models?: readonly (Omit<ModelSpec, 'runtimes'> & { runtimes?: number })[];
  readonly restart?: Partial<WorkerNodeConfig['restart']>;
  readonly warmup?: Partial<WorkerNodeConfig['warmup']>;
};

const MEM = DEFAULT_GATEWAY_CONFIG.memory;

/** The node's KV capacity before any runtime reported its budget (kvCapacityBytes not configured). */
export const HOST_KV_FALLBACK_FRACTION = 0.25;

export function hostKvFallbackBytes(): number {
  return Math.floor(totalmem() * HOST_KV_FALLBACK_FRACTION);
}

export function resolveWorkerConfig(o: WorkerNodeOptions): WorkerNodeConfig {
  const maxConcurrent = o.maxConcurrent ?? 64;
  const idleUnloadMs = o.idleUnloadMs ?? MEM.idleUnloadMs;
  const cfg: WorkerNodeConfig = {
    id: o.id,
    models: (o.models ?? []).map((m) => ({ id: m.id, path: m.path, runtimes: m.runtimes ?? 1 })),
    pythonPath: o.pythonPath,
    maxConcurrent,
    runtimeMaxSequences: o.runtimeMaxSequences ?? maxConcurrent,
    kvCapacityBytes: o.kvCapacityBytes,
    modelMemoryBytes: o.modelMemoryBytes,
    watermarkFraction: o.watermarkFraction ?? MEM.watermarkFraction,
    idleSessionsMax: o.idleSessionsMax ?? MEM.idleSessionsMax,
    modelsMax: o.modelsMax ?? MEM.modelsPerWorkerMax,
    defaultMaxTokens: o.defaultMaxTokens ?? 256,
    restart: { baseMs: 200, maxMs: 10_000, stableAfterMs: 30_000, ...o.restart },
    runtimeWaitMs: o.runtimeWaitMs ?? 30_000,
    waitingMax: o.waitingMax ?? 1024,
    kvWaitMs: o.kvWaitMs ?? 60_000,
    kvWaitingMax: o.kvWaitingMax ?? maxConcurrent,
    warmup: { poolFraction: MEM.warmupPoolFraction, refillMs: MEM.warmupRefillMs, idleCheckMs: 1000, requestTimeoutMs: 30_000, onStart: true, ...o.warmup },
    readyTimeoutMs: o.readyTimeoutMs ?? 120_000,
    idleUnloadMs,
    idleCheckMs: o.idleCheckMs ?? Math.min(10_000, Math.max(50, Math.floor(idleUnloadMs / 4))),
    reloadWaitMs: o.reloadWaitMs ?? 120_000,
    prewarm: { windowMs: 3_600_000, minRequests: 100, ...o.prewarm },
    runtimeCallTimeoutMs: o.runtimeCallTimeoutMs ?? 30_000,
  };
  check(/^[A-Za-z0-9_.:-]{1,128}$/.test(cfg.id), 'id', `must match [A-Za-z0-9_.:-]{1,128}, got ${JSON.stringify(cfg.id)}`);
  const ids = new Set<string>();
  for (const m of cfg.models) {
    // `@`: a version of a canaried model (`llama@v2`, core/canary/).
    check(/^[A-Za-z0-9_.:/@-]{1,128}$/.test(m.id), 'models[].id', `must match [A-Za-z0-9_.:/@-]{1,128}, got ${JSON.stringify(m.id)}`);
    check(!ids.has(m.id), 'models[].id', `duplicates ${m.id}`);
    ids.add(m.id);
    check(Number.isInteger(m.runtimes) && m.runtimes >= 1 && m.runtimes <= 64, 'models[].runtimes', 'must be an integer in [1, 64]');
  }
  check(cfg.models.length <= cfg.modelsMax, 'models', `more start-up models than modelsMax (${cfg.modelsMax})`);
  for (const [k, v] of Object.entries({ maxConcurrent: cfg.maxConcurrent, runtimeMaxSequences: cfg.runtimeMaxSequences, waitingMax: cfg.waitingMax, kvWaitingMax: cfg.kvWaitingMax, defaultMaxTokens: cfg.defaultMaxTokens })) {
    check(Number.isInteger(v) && v >= 1 && v <= 1_000_000, k, `must be an integer in [1, 1000000], got ${v}`);
  }
  check(cfg.kvCapacityBytes === undefined || cfg.kvCapacityBytes > 0, 'kvCapacityBytes', 'must be > 0');
  check(cfg.modelMemoryBytes === undefined || (Number.isSafeInteger(cfg.modelMemoryBytes) && cfg.modelMemoryBytes > 0), 'modelMemoryBytes', `must be an integer > 0, got ${cfg.modelMemoryBytes}`);
  check(Number.isFinite(cfg.kvWaitMs) && cfg.kvWaitMs >= 0, 'kvWaitMs', 'must be a finite number ≥ 0 (0 refuses at once)');
  check(cfg.watermarkFraction > 0 && cfg.watermarkFraction <= 1, 'watermarkFraction', 'must be in (0, 1]');
  check(Number.isFinite(cfg.idleUnloadMs) && cfg.idleUnloadMs >= 0, 'idleUnloadMs', 'must be a finite number ≥ 0 (0 disables)');
  check(cfg.idleCheckMs >= 10, 'idleCheckMs', 'must be ≥ 10');
  check(cfg.reloadWaitMs >= 1, 'reloadWaitMs', 'must be ≥ 1');
  check(cfg.prewarm.windowMs >= 1 && Number.isInteger(cfg.prewarm.minRequests) && cfg.prewarm.minRequests >= 0, 'prewarm', 'needs windowMs ≥ 1 and an integer minRequests ≥ 0');
  check(cfg.restart.baseMs >= 1 && cfg.restart.maxMs >= cfg.restart.baseMs, 'restart', 'needs 1 ≤ baseMs ≤ maxMs');
  return cfg;
}

function check(ok: boolean, field: string, reason: string): void {
  if (!ok) throw new Error(`invalid worker config: ${field} ${reason}`);
}
