// A simulated worker's configuration (sim/worker/worker.ts): its hardware and model (the latency
// model), its bounds, the runtime loop it runs (mlx-lm's, or core's step planner), its memory admission
// and KV reservation, its faults, and what it does with an idle model.
import type { Rng, WorkerId } from '../../core/types.js';
import type { StepCostOptions, StepCostPrior } from '../../core/scheduling/step-cost.js';
import type { StepPlannerConfig } from '../../core/scheduling/step-planner.js';
import type { LatencyModel } from '../latency/latency-model.js';
import type { SlowdownWindow } from './faults.js';
import type { MemoryAdmission } from './memory.js';
import type { ModelIdleConfig } from './model-idle.js';
import type { AdmitGroupConfig } from '../../core/scheduling/admit-group.js';

/** Called once per completed step (metrics implement it). */
export interface StepObserver {
  onStep(workerIndex: number, startMs: number, durationMs: number, batchSize: number, continuingSequences: number, prefillTokens: number, kvUsedBytes: number, kvCapacityBytes: number): void;
}

export interface WorkerConfig {
  readonly id: WorkerId;
  readonly index: number;
  readonly latency: LatencyModel;
  readonly maxSequences: number;
  readonly maxQueuedSequences: number;
  /** Sequences held at once (queued + running), beyond which a submit is refused `overloaded` (the live node's maxConcurrent); default unbounded. */
  readonly maxConcurrent?: number;
  /** Prompt tokens per prefill chunk (mlx_runtime prefill_step_size, default 512). */
  readonly prefillStepTokens?: number;
  /** Sequences prefilled together, one chunk each per step (mlx_runtime prefill_batch_size, default 8). */
  readonly prefillBatchSize?: number;
  /**
   * A what-if cap on Σ chunk tokens per step; not a runtime parameter (mlx-lm bounds a step's prefill
   * by prefillBatchSize × prefillStepTokens, the default here). Before chunked prefill was modelled it
   * was a whole-prompt admission budget.
   */
  readonly maxPrefillTokensPerStep?: number;
  readonly prefixCacheSessions?: number;
  /**
   * How a decode step is charged: `packed` (default) on the batch's real context; `padded` as mlx-lm's
   * BatchKVCache lays it out, every sequence padded to the longest of its batch (n × longest), with one
   * batch per context bucket (`contextBuckets`, the runtime's --context-buckets: upper edges on the
   * prompt tokens at insert; each bucket is its own decode pass). Used by sim-vs-live, where both sides
   * run mlx-lm's BatchGenerator (scenarios/sim-run.ts).
   */
  readonly decodeLayout?: { readonly type: 'padded'; readonly contextBuckets?: readonly number[] };
  /**
   * The runtime's --admit-group (core/scheduling/admit-group.ts): waiting prompts are held while the
   * batch decodes until a group has gathered or the oldest waited its maximum. Default at once.
   * The runtime holds per bucket loop; here one queue holds for the worker.
   */
  readonly admitGroup?: AdmitGroupConfig;
  /** Host time per decode step per decoding row that asks for structured output (default CONSTRAINED_ROW_MS_DEFAULT). */
  readonly constrainedRowMs?: number;
  /** Tokens per prefix block of the workload (64, see workload/blocks.ts). */
  readonly prefixBlockTokens?: number;
  readonly startWarm?: boolean;
  readonly memory?: MemoryAdmission;
  /**
   * What a sequence holds in KV from its admission: 'max-tokens' (default), prompt + max_tokens
   * reserved before its prefill, as the live worker node and the mlx-serving runtime reserve (core's
   * kvReserveTokens); 'final-context', prompt + the output it will generate, for an engine that
   * reserves nothing (mlx_lm.server: its memory grows with the context, UngovernedAdmission records
   * the demand).
   */
  readonly kvReservation?: 'max-tokens' | 'final-context';
  /** Retry delay when memory refuses admission with an empty batch (an external governor). */
  readonly admissionRetryMs?: number;
  /** Idle unload and prewarm of the model, as a live node does them (model-idle.ts); absent: never unloaded. */
  readonly modelIdle?: ModelIdleConfig;
  readonly slowdowns?: readonly SlowdownWindow[];
  readonly errorProbability?: number;
  readonly faultRng?: Rng;
  /** Emit a `tokens` event every N generated tokens per sequence (0: never). */
  readonly tokensEventEvery?: number;
  readonly observer?: StepObserver;
  /**
   * Plan every step with core's step planner, as the mlx-serving runtime does (a token budget from
   * the ITL target, FCFS chunks, a latency-sized batch, no join pass); its cost model learns from the
   * simulated step times, starting from `prior`. Absent: mlx-lm's BatchGenerator loop (above).
   */
  readonly planner?: WorkerPlannerConfig;
}

export interface WorkerPlannerConfig {
  readonly config: StepPlannerConfig;
  readonly prior: StepCostPrior;
  readonly options?: StepCostOptions;
}
