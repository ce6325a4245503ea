// Scenario definitions: the workload, the cluster, the baseline and candidate policy sets, the
// targets and the seed. Definitions are TypeScript values checked by `defineScenario`, which names
// the offending field when a definition is invalid.
import type { DeepPartial, GatewayConfig } from '../core/config/types.js';
import { resolveGatewayConfig } from '../core/config/validate.js';
import { contextBucketsError } from '../core/scheduling/context-buckets.js';
import type { NetworkConfig } from '../sim/worker/network.js';
import type { ModelIdleConfig } from '../sim/worker/model-idle.js';
import type { QuantizationId, KvPrecision } from '../sim/profiles/types.js';
import { getHardware } from '../sim/profiles/hardware.js';
import { getModel } from '../sim/profiles/models.js';
import { validateClosedLoop } from '../sim/workload/closed-loop.js';
import { validateMix } from '../sim/workload/mix.js';
import { validateOpenLoop } from '../sim/workload/open-loop.js';
import { validateFaultPlan, type RollingRestartFault } from '../sim/worker/faults.js';
import type { ClosedLoopConfig, MixConfig, OpenLoopConfig } from '../sim/workload/types.js';
import { isModelSize, MODEL_SIZES, type ModelSize } from '../live/shared/model.js';

export type WorkloadDef = OpenLoopConfig | ClosedLoopConfig | MixConfig;

export interface ClusterDef {
  readonly hardware: string;
  readonly model: string;
  readonly quantization: QuantizationId;
  readonly kvPrecision?: KvPrecision;
  /** Sequences one worker batches at once (the runtime's continuous-batching limit). */
  readonly maxSequences: number;
  /** Workers start with the model loaded (no cold start on the first request). Default true. */
  readonly startWarm?: boolean;
  readonly network?: NetworkConfig;
  /** Memory of each Mac, when not the hardware profile's default. */
  readonly memoryGB?: number;
}

/** A policy set: the direct engine (one worker, no gateway) or the gateway core with N workers. */
export type PolicySetDef =
  | { readonly name: string; readonly kind: 'direct' }
  | {
      readonly name: string;
      readonly kind: 'gateway';
      readonly workers: number;
      readonly gateway: DeepPartial<GatewayConfig>;
      /** Overrides cluster.startWarm: workers pre-warmed (model loaded, slots allocated) before traffic. */
      readonly startWarm?: boolean;
      /** faults.rollingRestart: drain each worker before its restart (default true); false cuts its in-flight requests. */
      readonly drainOnRestart?: boolean;
      /** The live gateway's limits.requestTimeoutMs: each request's deadline at its workers, and when the gateway gives up on it (sim/cluster ClusterSpec.requestTimeoutMs). Default: none. */
      readonly requestTimeoutMs?: number;
      /** Idle unload and prewarm of each worker's model, as a live node does them (sim/worker/model-idle.ts). Default: never unloaded. */
      readonly modelIdle?: ModelIdleConfig;
    };

/** Metrics a target can name (RunSummary fields; `extra.<key>` for extra figures). */
export type MetricKey =
  | 'outputTokPerS' | 'successRate' | 'ttftP50' | 'ttftP95' | 'itlP50' | 'itlP95' | 'e2eP50' | 'e2eP95' | 'queueP95'
  | `extra.${string}`;

export type TargetDef =
  /** candidate ÷ baseline ≥ value (e.g. 1.10). */
  | { readonly metric: MetricKey; readonly kind: 'ratio-min'; readonly value: number }
  /** candidate ÷ baseline ≤ value (latency "no worse": 1.0). */
  | { readonly metric: MetricKey; readonly kind: 'ratio-max'; readonly value: number }
  /** candidate ≤ value (absolute, in the metric's unit). */
  | { readonly metric: MetricKey; readonly kind: 'max'; readonly value: number }
  /** candidate ≥ value (absolute). */
  | { readonly metric: MetricKey; readonly kind: 'min'; readonly value: number };

export interface FaultDef {
  /** `runtime`: only the worker's runtime dies, the node stays up (sim/worker/faults.ts CrashFault). */
  readonly crashes?: readonly { readonly workerIndex: number; readonly atMs: number; readonly restartAfterMs: number; readonly runtime?: boolean }[];
  readonly slowdowns?: readonly { readonly workerIndex: number; readonly startMs: number; readonly endMs: number; readonly factor: number }[];
  readonly errorProbability?: number;
  /** Restart every worker one at a time (gateway policy sets; see PolicySetDef.drainOnRestart). */
  readonly rollingRestart?: RollingRestartFault;
}

/**
 * How a scenario runs live on this machine (`--mode live|both`): the same workload shape, scaled so a
 * run takes minutes on the project's own model. Lengths are multiplied by tokenScale (prompt, output,
 * user turn, shared prefix, context bound); users/rps/duration/requests replace the sim values.
 */
export interface LiveSectionDef {
  /** The project's model the run builds (python/build-model.sh --size). */
  readonly model: ModelSize;
  readonly durationMs: number;
  /** Closed loop: concurrent users (default: the sim value). */
  readonly users?: number;
  /** Open loop: constant request rate (default: the sim rate profile). */
  readonly rps?: number;
  readonly requestsMax?: number;
  /** Multiplies every token length of the workload (default 1). */
  readonly tokenScale?: number;
  /** Closed loop: users start over this long (default: the sim value). */
  readonly rampUpMs?: number;
  /** Sequences the candidate's runtime batches at once per worker (default cluster.maxSequences); the baseline, mlx_lm.server, keeps its --decode-concurrency 32. */
  readonly maxSequences?: number;
  /**
   * The candidate runtime's context buckets (upper edges in prompt tokens; MLX_RUNTIME_CONTEXT_BUCKETS),
   * unless the environment sets that variable (scenarios/live/runtime-env.ts). Default: one batch.
   */
  readonly contextBuckets?: readonly number[];
  /**
   * SIGKILL worker node `w<workerIndex>` and its python runtime `atMs` after the load starts, on each
   * gateway side that has that node (scenarios/live/cluster-side.ts); it is not restarted.
   */
  readonly killWorker?: { readonly workerIndex: number; readonly atMs: number };
  /** The candidate's worker nodes in this section instead of candidate.workers (e.g. 2 on a small CPU). */
  readonly candidateWorkers?: number;
  /** After durationMs, requests still running get this long before they are cut and count as failed (default 60 s). */
  readonly drainMs?: number;
}

/**
 * The section above is the `cpu` profile (a small machine: this 2-core CPU, or a Mac); `gpu` is the
 * profile for a machine whose MLX runs on a CUDA GPU (scenarios/live/profile.ts chooses). A scenario
 * without `gpu` runs its one section everywhere.
 */
export interface LiveDef extends LiveSectionDef {
  readonly gpu?: LiveSectionDef;
}

export interface ScenarioDef {
  readonly name: string;
  readonly title: string;
  readonly description: string;
  readonly seed: number;
  readonly workload: WorkloadDef;
  readonly cluster: ClusterDef;
  readonly baseline: PolicySetDef;
  readonly candidate: PolicySetDef & { readonly kind: 'gateway' };
  readonly targets: readonly TargetDef[];
  /** Figures shown in the table without a target (e.g. `extra.<key>`). */
  readonly report?: readonly MetricKey[];
  readonly faults?: FaultDef;
  /** Run the candidate again for each value, to draw a curve (scaling with workers, or with users). */
  readonly sweep?: { readonly over: 'workers' | 'users'; readonly values: readonly number[] };
  /** Capacity planning: answered by formula and simulation search instead of a baseline run. */
  readonly capacity?: readonly CapacityQuestion[];
  readonly notes?: readonly string[];
  /** How the scenario runs live (`--mode live|both`); scenarios without it are sim-only. */
  readonly live?: LiveDef;
  /** Versions and canaries (core/canary/): which version each worker serves, and admin promotions. */
  readonly canary?: CanaryDef;
  /** Part of the default suite (`npm run scenario` with no name) and the CI gate. */
  readonly inDefaultSuite: boolean;
}

/**
 * A canaried model in the simulator: worker i serves the version `workerVersions[i]` of the workload's
 * model (model id `<model>@<version>`); the gateway's canary config (policy sets) gives the weights.
 */
export interface CanaryDef {
  readonly workerVersions: readonly string[];
  /** Admin calls promoting a version, run in the candidate only. */
  readonly promotions?: readonly { readonly atMs: number; readonly version: string }[];
}

export interface CapacityQuestion {
  readonly useCase: string;
  readonly targetRps: number;
  /** What the architecture document's sizing table says, for comparison. */
  readonly documentWorkers: number;
  readonly slo: { readonly ttftP95Ms: number; readonly itlP95Ms: number };
  /** Formula inputs (the document's assumptions). */
  readonly formula: { readonly avgLatencyS: number; readonly maxConcurrent: number; readonly cacheHitRate: number };
}

export class ScenarioError extends Error {
  override name = 'ScenarioError';
  constructor(readonly scenario: string, readonly field: string, readonly reason: string) {
    super(`scenario ${scenario}: ${field} ${reason}`);
  }
}

/** Checks a definition (every field the runner relies on) and returns it unchanged. */
export function defineScenario(def: ScenarioDef): ScenarioDef {
  const fail = (field: string, reason: string): never => {
    throw new ScenarioError(def.name, field, reason);
  };
  if (!/^[a-z0-9][a-z0-9-]*$/.test(def.name)) fail('name', 'must be lower-case words joined by hyphens');
  if (!Number.isInteger(def.seed) || def.seed < 0) fail('seed', `must be a non-negative integer, got ${def.seed}`);
  wrap(def.name, 'workload', () => (def.workload.type === 'open' ? validateOpenLoop(def.workload) : def.workload.type === 'mix' ? validateMix(def.workload) : validateClosedLoop(def.workload)));
  wrap(def.name, 'cluster.hardware', () => getHardware(def.cluster.hardware));
  wrap(def.name, 'cluster.model', () => getModel(def.cluster.model));
  if (!Number.isInteger(def.cluster.maxSequences) || def.cluster.maxSequences < 1) fail('cluster.maxSequences', `must be an integer ≥ 1, got ${def.cluster.maxSequences}`);
  for (const [field, p] of [['baseline', def.baseline], ['candidate', def.candidate]] as const) {
    if (p.kind === 'gateway') {
      if (!Number.isInteger(p.workers) || p.workers < 1 || p.workers > 10_000) fail(`${field}.workers`, `must be an integer in [1, 10000], got ${p.workers}`);
      wrap(def.name, `${field}.gateway`, () => resolveGatewayConfig(p.gateway));
    }
  }
  for (const [i, t] of def.targets.entries()) {
    if (!Number.isFinite(t.value)) fail(`targets[${i}].value`, `must be a finite number, got ${t.value}`);
  }
  if (def.faults !== undefined) {
    const faults = def.faults;
    wrap(def.name, 'faults', () => validateFaultPlan(faults, def.candidate.workers));
  }
  if (def.live !== undefined) checkLive(def.live, fail);
  for (const v of def.sweep?.values ?? []) if (!Number.isInteger(v) || v < 1) fail('sweep.values', `must be integers ≥ 1, got ${v}`);
  return def;
}

function checkLive(l: LiveSectionDef, fail: (field: string, reason: string) => never, at = 'live'): void {
  if (!isModelSize(l.model)) fail(`${at}.model`, `must be one of ${MODEL_SIZES.map((m) => `'${m}'`).join(', ')}, got ${JSON.stringify(l.model)}`);
  if (!(l.durationMs > 0 && l.durationMs <= 3_600_000)) fail(`${at}.durationMs`, `must be in (0, 3600000], got ${l.durationMs}`);
  const ints: [string, number | undefined][] = [[`${at}.users`, l.users], [`${at}.requestsMax`, l.requestsMax], [`${at}.maxSequences`, l.maxSequences], [`${at}.candidateWorkers`, l.candidateWorkers]];
  for (const [f, v] of ints) if (v !== undefined && !(Number.isInteger(v) && v >= 1 && v <= 10_000)) fail(f, `must be an integer in [1, 10000], got ${v}`);
  if (l.rps !== undefined && !(l.rps > 0 && l.rps <= 10_000)) fail(`${at}.rps`, `must be in (0, 10000], got ${l.rps}`);
  if (l.tokenScale !== undefined && !(l.tokenScale > 0 && l.tokenScale <= 1)) fail(`${at}.tokenScale`, `must be in (0, 1], got ${l.tokenScale}`);
  if (l.rampUpMs !== undefined && !(l.rampUpMs >= 0)) fail(`${at}.rampUpMs`, `must be >= 0, got ${l.rampUpMs}`);
  if (l.drainMs !== undefined && !(l.drainMs >= 1000 && l.drainMs <= 600_000)) fail(`${at}.drainMs`, `must be in [1000, 600000], got ${l.drainMs}`);
  const bucketsError = l.contextBuckets === undefined ? undefined : contextBucketsError(l.contextBuckets);
  if (bucketsError !== undefined) fail(`${at}.contextBuckets`, bucketsError);
  const k = l.killWorker;
  if (k !== undefined) {
    if (!(Number.isInteger(k.workerIndex) && k.workerIndex >= 0)) fail(`${at}.killWorker.workerIndex`, `must be a non-negative integer, got ${k.workerIndex}`);
    if (!(k.atMs > 0 && k.atMs < l.durationMs)) fail(`${at}.killWorker.atMs`, `must be in (0, ${at}.durationMs), got ${k.atMs}`);
  }
  const gpu = (l as LiveDef).gpu;
  if (gpu !== undefined) {
    if (at !== 'live') fail(`${at}.gpu`, 'cannot be nested');
    checkLive(gpu, fail, 'live.gpu');
  }
}

function wrap(scenario: string, field: string, check: () => unknown): void {
  try {
    check();
  } catch (e) {
    throw new ScenarioError(scenario, field, e instanceof Error ? e.message : String(e));
  }
}
