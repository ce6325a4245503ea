/* eslint-disable max-lines -- the two step loops share the batch, queue and KV state they mutate every step (see below) */
// The worker model: what one Mac running the MLX runtime does with the sequences it is given.
// (One file: the two step loops below share the batch, queue and KV state they mutate every step;
// the policy pieces live beside it: prefill-chunks.ts, core/scheduling/, memory.ts, prefix-cache.ts.)
// A state machine driven by the engine (no clock, no heap of its own):
//   submit(seq, nowMs, out)       -> wake time to schedule, or NO_WAKE
//   onWake(nowMs, wakeId, out)    -> next wake time, or NO_WAKE   (stale wake ids are ignored)
//   crash(nowMs, restartAfterMs, out) -> restart wake time
//   crashRuntime(nowMs, restartAfterMs, out) -> wake time (the runtime back and loaded; the node stays up)
//   restart(nowMs, downMs, out)   -> wake time (process back; it then loads the model at once)
// Events for the driver (firstToken, tokens, done, error) are appended to a reusable WorkerOutput.
//
// Continuous batching with chunked prefill, one step at a time, as mlx-lm's BatchGenerator._next
// (0.32) does it (see prefill-chunks.ts):
//   1. the decode batch (sequences past their prefill) takes one decode step;
//   2. waiting sequences are admitted FIFO into the prefill batch while decoding + prefilling
//      < maxSequences, prefilling < prefillBatchSize and the KV memory admission agrees (the runtime
//      reserves KV at insert, before prefill); a prompt-cache hit skips the cached prefix;
//   3. each prefilling sequence processes one chunk of ≤ prefillStepTokens prompt tokens (Σ chunks
//      ≤ maxPrefillTokensPerStep, no extra cap by default); those whose prompt was already down to
//      its last token instead join the decode batch: one forward pass of their own (mlx-lm's
//      GenerationBatch constructor) computes their first token;
//   stepMs = (decodeStepMs(decoding, ctx) + decodeStepMs(joining, ctx) + Σ chunkMs + Σ requestOverheadMs(new)) × slowdown;
//   at the end of the step every decoding sequence (joiners included) gets one token (finished ones
//   leave and release KV).
// A long prompt thus shares its prefill with the decode steps of the running batch instead of stalling it.
// Cold start: a cold worker loads the model (coldStartMs) before its first step; a crash makes it cold.
// Bounds: maxSequences (batch), prefillBatchSize, maxQueuedSequences (waiting FIFO), prefix-cache sessions.
// Decisions shared with the live worker node (core/worker/): the KV reserved at admission (prompt +
// max_tokens), a request's deadline (checked at submit and at each step's start), a runtime lost
// before a sequence's first token (crashRuntime re-runs it).
import type { Rng, RequestId, WorkerId } from '../../core/types.js';
import type { LatencyModel } from '../latency/latency-model.js';
import { CapacityAdmission, type MemoryAdmission } from './memory.js';
import { SessionPrefixCache } from './prefix-cache.js';
import { validateSlowdown, type SlowdownWindow } from './faults.js';
import { PREFILL_BATCH_SIZE_DEFAULT, PREFILL_STEP_TOKENS_DEFAULT, chargePlannedChunk, planChunk, startPlannedPrefill, startPrefill } from './prefill-chunks.js';
import { StepCostModel, type StepCostOptions, type StepCostPrior } from '../../core/scheduling/step-cost.js';
import { planStep, validatePlannerConfig, type PrefillingSeq, type StepPlannerConfig, type WaitingSeq } from '../../core/scheduling/step-planner.js';
import { contextBucketsError, paddedDecodeMs } from './padded-decode.js';
import { kvReserveTokens } from '../../core/worker/kv-reservation.js';
import { onRuntimeLost } from '../../core/worker/runtime-lost.js';
import { deadlinePassed, NO_DEADLINE } from '../../core/worker/deadline.js';
import { DueHeap, Ring, SimSequence, WorkerEventKind, type SequenceInput, type WorkerErrorCode, type WorkerOutput } from './sequence.js';

export { SimSequence, WorkerEventKind, WorkerOutput, type SequenceInput, type WorkerErrorCode } from './sequence.js';

export const NO_WAKE = -1;

/**
 * What a constrained row (response_format json_object / json_schema) adds to a decode step: the
 * runtime computes its llguidance mask and applies it row by row, and loses mlx-lm's overlap of host
 * work with the next forward pass. Measured in the runtime (`bash scripts/structured-mask-cost.sh`, the
 * tiny model on this CPU): an engine step of 32 sequences, all constrained, 12.0 → 19.6 ms, 0.24 ms a row.
 */
export const CONSTRAINED_ROW_MS_DEFAULT = 0.24;

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
  /** Re-runs of a sequence whose runtime died before its first token (the live node's crashRetriesMax, default 1). */
  readonly crashRetriesMax?: number;
  /** Retry delay when memory refuses admission with an empty batch (an external governor). */
  readonly admissionRetryMs?: number;
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

export type WorkerState = 'cold' | 'loading' | 'idle' | 'busy' | 'down';

export interface WorkerView {
  readonly id: WorkerId;
  readonly state: WorkerState;
  readonly queued: number;
  readonly running: number;
  readonly kvUsedBytes: number;
  readonly kvCapacityBytes: number;
}

export interface WorkerStats {
  busyMs: number;
  steps: number;
  outputTokens: number;
  coldStarts: number;
  crashes: number;
  runtimeCrashes: number;
  /** Sequences re-run after their runtime died before their first token. */
  crashReruns: number;
  completed: number;
  failed: number;
  /** Time (ms) spent in steps of each batch size (index = batch size). */
  readonly timeByBatchMs: Float64Array;
  /** Time (ms) spent at each KV-use percentage (index 0..100). */
  readonly timeByKvPercentMs: Float64Array;
}

export class SimWorker {
  readonly id: WorkerId;
  readonly index: number;
  private readonly latency: LatencyModel;
  private readonly memory: MemoryAdmission;
  readonly prefixCache: SessionPrefixCache;
  private readonly queue: Ring;
  /**
   * The generation batch: sequences past their prefill, one token per step, a list in join order.
   * A step's work is proportional to the sequences with an event in it, not to the batch: a decoding
   * sequence's token count is decodeSteps − its decodeBaseStep, and `due` holds each sequence at the
   * step of its next event (done, or a tokens event).
   */
  private decodingHead: SimSequence | undefined = undefined;
  private decodingTail: SimSequence | undefined = undefined;
  private decodingCount = 0;
  /** Decoding sequences that ask for structured output (each costs constrainedRowMs a step). */
  private constrainedDecoding = 0;
  private readonly constrainedRowMs: number;
  /** decodeLayout padded: the buckets' upper edges ([] = one batch), and per-bucket scratch. */
  private readonly paddedBuckets: readonly number[] | undefined;
  private readonly bucketCount: number[] = [];
  private readonly bucketLongest: number[] = [];
  private decodeSteps = 0;
  private joinCount = 0;
  private readonly due = new DueHeap();
  /** This step's joiners (scratch). */
  private readonly joiners: SimSequence[] = [];
  /** crashRuntime's re-runs (scratch). */
  private readonly reruns: SimSequence[] = [];
  /** The prompt batch: admitted sequences still in prefill (≤ prefillBatchSize). */
  private readonly prefilling: SimSequence[] = [];
  private readonly maxSequences: number;
  private readonly prefillStepTokens: number;
  private readonly prefillBatchSize: number;
  private readonly maxPrefillTokens: number;
  private readonly slowdowns: readonly SlowdownWindow[];
  private readonly errorProbability: number;
  private readonly faultRng: Rng | undefined;
  private readonly tokensEvery: number;
  private readonly observer: StepObserver | undefined;
  private readonly retryMs: number;
  private readonly reserveMaxTokens: boolean;
  private readonly crashRetriesMax: number;
  /** A sequence with a deadline was submitted: steps check deadlines from then on. */
  private deadlines = false;
  private stateNow: WorkerState;
  private restartingNow = false;
  private totalContext = 0;
  private stepStartMs = 0;
  private stepContinuing = 0;
  private stepPrefillTokens = 0;
  private stepContext = 0;
  private readonly planner: { config: StepPlannerConfig; cost: StepCostModel } | undefined;
  private readonly planPrefilling: PrefillingSeq[] = [];
  private readonly planWaiting: WaitingSeq[] = [];
  private readonly planWaitingSeqs: SimSequence[] = [];
  private queuedLive = 0;
  /** Id of the pending wake; a wake event carrying another id is stale. */
  wakeId = 0;
  readonly stats: WorkerStats;

  constructor(config: WorkerConfig) {
    const c = config;
    const posInt = (f: string, v: number): void => {
      if (!Number.isInteger(v) || v < 1) throw new Error(`worker ${c.id}: ${f} must be an integer >= 1, got ${v}`);
    };
    posInt('maxSequences', c.maxSequences);
    posInt('maxQueuedSequences', c.maxQueuedSequences);
    const stepTokens = c.prefillStepTokens ?? PREFILL_STEP_TOKENS_DEFAULT;
    const prefillBatch = c.prefillBatchSize ?? PREFILL_BATCH_SIZE_DEFAULT;
    posInt('prefillStepTokens', stepTokens);
    posInt('prefillBatchSize', prefillBatch);
    const prefillCap = c.maxPrefillTokensPerStep ?? stepTokens * prefillBatch;
    posInt('maxPrefillTokensPerStep', prefillCap);
    const p = c.errorProbability ?? 0;
    if (!(p >= 0 && p <= 1)) throw new Error(`worker ${c.id}: errorProbability must be in [0, 1], got ${p}`);
    if (p > 0 && !c.faultRng) throw new Error(`worker ${c.id}: errorProbability > 0 needs a seeded faultRng`);
    for (const w of c.slowdowns ?? []) validateSlowdown(w, `worker ${c.id} slowdown`);
    this.id = c.id;
    this.index = c.index;
    this.latency = c.latency;
    this.memory = c.memory ?? new CapacityAdmission(c.latency.kvCapacityBytes);
    this.prefixCache = new SessionPrefixCache(c.prefixCacheSessions ?? 256, c.prefixBlockTokens ?? 64);
    this.queue = new Ring(c.maxQueuedSequences);
    this.maxSequences = c.maxSequences;
    this.prefillStepTokens = stepTokens;
    this.prefillBatchSize = prefillBatch;
    this.maxPrefillTokens = prefillCap;
    this.constrainedRowMs = c.constrainedRowMs ?? CONSTRAINED_ROW_MS_DEFAULT;
    this.paddedBuckets = c.decodeLayout?.type === 'padded' ? [...(c.decodeLayout.contextBuckets ?? [])] : undefined;
    const bucketsError = this.paddedBuckets === undefined ? undefined : contextBucketsError(this.paddedBuckets);
    if (bucketsError !== undefined) throw new Error(`worker ${c.id}: decodeLayout.${bucketsError}`);
    if (!(this.constrainedRowMs >= 0 && Number.isFinite(this.constrainedRowMs))) throw new Error(`worker ${c.id}: constrainedRowMs must be a finite number >= 0, got ${this.constrainedRowMs}`);
    this.slowdowns = [...(c.slowdowns ?? [])].sort((a, b) => a.startMs - b.startMs);
    this.errorProbability = p;
    this.faultRng = c.faultRng;
    this.tokensEvery = c.tokensEventEvery ?? 0;
    this.observer = c.observer;
    this.retryMs = c.admissionRetryMs ?? 50;
    this.reserveMaxTokens = (c.kvReservation ?? 'max-tokens') === 'max-tokens';
    this.crashRetriesMax = c.crashRetriesMax ?? 1;
    if (!(Number.isInteger(this.crashRetriesMax) && this.crashRetriesMax >= 0)) throw new Error(`worker ${c.id}: crashRetriesMax must be an integer >= 0, got ${this.crashRetriesMax}`);
    this.stateNow = c.startWarm === false ? 'cold' : 'idle';
    if (c.planner !== undefined) {
      validatePlannerConfig(c.planner.config);
      this.planner = { config: c.planner.config, cost: new StepCostModel(c.planner.prior, c.planner.options) };
    }
    this.stats = {
      busyMs: 0, steps: 0, outputTokens: 0, coldStarts: 0, crashes: 0, runtimeCrashes: 0, crashReruns: 0, completed: 0, failed: 0,
      timeByBatchMs: new Float64Array(c.maxSequences + 1),
      timeByKvPercentMs: new Float64Array(101),
    };
  }

  get state(): WorkerState {
    return this.stateNow;
  }
  /** Sequences waiting plus running: the load a least-loaded router reads. */
  get load(): number {
    return this.queuedLive + this.runningCount;
  }
  /** Admitted sequences: decoding plus prefilling. */
  get runningCount(): number {
    return this.decodingCount + this.prefilling.length;
  }
  get prefillingCount(): number {
    return this.prefilling.length;
  }
  get queuedCount(): number {
    return this.queuedLive;
  }

  view(): WorkerView {
    return { id: this.id, state: this.stateNow, queued: this.queuedLive, running: this.runningCount, kvUsedBytes: this.memory.usedBytes, kvCapacityBytes: this.memory.capacityBytes };
  }

  /** Accepts a sequence. Returns the time of a wake the driver must schedule (with this.wakeId), or NO_WAKE. */
  submit(input: SequenceInput, nowMs: number, out: WorkerOutput): number {
    if (!(input.promptTokens >= 1) || !(input.outputTokens >= 1) || !(input.maxTokens >= input.outputTokens)) {
      throw new Error(`worker ${this.id}: request ${input.requestId} needs promptTokens >= 1 and 1 <= outputTokens <= maxTokens (got ${input.promptTokens}, ${input.outputTokens}, ${input.maxTokens})`);
    }
    const seq = new SimSequence(input, nowMs);
    if (this.faultRng && this.errorProbability > 0) seq.willFail = this.faultRng() < this.errorProbability;
    if (this.stateNow === 'down') return this.fail(seq, 'worker_down', nowMs, out);
    if (input.deadlineMs !== undefined) {
      this.deadlines = true;
      if (deadlinePassed(input.deadlineMs, nowMs)) return this.fail(seq, 'deadline_exceeded', nowMs, out);
    }
    // Prompt + max_tokens must fit the context and the KV (as the runtime checks); final-context: prompt + output.
    if (this.heldTokensOf(input) > this.latency.contextTokensMax) return this.fail(seq, 'context_length_exceeded', nowMs, out);
    if (this.kvBytesOf(input) > this.memory.capacityBytes) return this.fail(seq, 'kv_exceeds_capacity', nowMs, out);
    if (!this.queue.push(seq)) return this.fail(seq, 'queue_full', nowMs, out);
    this.queuedLive++;
    if (this.stateNow === 'cold') {
      this.stateNow = 'loading';
      this.stats.coldStarts++;
      return this.setWake(nowMs + this.latency.coldStartMs());
    }
    if (this.stateNow === 'idle') return this.startStep(nowMs, out);
    return NO_WAKE;
  }

  /** Handles a wake: end of model load, end of a step, end of a crash's downtime, or an admission retry. */
  onWake(nowMs: number, wakeId: number, out: WorkerOutput): number {
    if (wakeId !== this.wakeId) return NO_WAKE;
    switch (this.stateNow) {
      case 'busy':
        this.finishStep(nowMs, out);
        return this.startStep(nowMs, out);
      case 'loading':
      case 'idle':
        this.stateNow = 'idle';
        this.restartingNow = false;
        return this.startStep(nowMs, out);
      case 'down':
        if (this.restartingNow) {
          this.stateNow = 'loading';
          this.stats.coldStarts++;
          return this.setWake(nowMs + this.latency.coldStartMs());
        }
        this.stateNow = 'cold';
        return NO_WAKE;
      case 'cold':
        return NO_WAKE;
    }
  }

  /** Kills the process: every queued and running sequence fails; the worker restarts cold after restartAfterMs. */
  crash(nowMs: number, restartAfterMs: number, out: WorkerOutput): number {
    if (this.stateNow === 'down') return NO_WAKE;
    this.stats.crashes++;
    return this.kill(nowMs, restartAfterMs, out);
  }

  /**
   * An operator's restart: the process stops (anything still queued or running fails), is back after
   * downMs and loads the model at once (coldStartMs); `restarting` holds until the load is done.
   */
  restart(nowMs: number, downMs: number, out: WorkerOutput): number {
    if (this.stateNow === 'down') return NO_WAKE;
    this.restartingNow = true;
    return this.kill(nowMs, downMs, out);
  }

  /**
   * The worker's runtime dies; the node stays up and keeps queueing requests. The runtime is back after
   * restartAfterMs and loads the model (coldStartMs). Each admitted sequence is a runtime lost under
   * it, decided by core as on a live node (core/worker/runtime-lost.ts): one that sent no token yet
   * (still in prefill) is re-run, at the head of the queue with its KV released, within
   * crashRetriesMax; the others fail with `runtime_crashed`. The runtime's prompt cache is lost.
   */
  crashRuntime(nowMs: number, restartAfterMs: number, out: WorkerOutput): number {
    if (this.stateNow === 'down' || this.stateNow === 'cold') return NO_WAKE;
    this.stats.runtimeCrashes++;
    for (let seq = this.decodingHead; seq !== undefined; seq = seq.nextDecoding) {
      seq.generated = this.decodeSteps - seq.decodeBaseStep;
      this.runtimeLost(seq, nowMs, out);
    }
    for (const seq of this.prefilling) this.runtimeLost(seq, nowMs, out);
    const reruns = this.reruns;
    this.clearDecoding();
    this.prefilling.length = 0;
    this.totalContext = 0;
    this.prefixCache.clear();
    for (let i = reruns.length - 1; i >= 0; i--) {
      const seq = reruns[i]!;
      if (this.queue.unshift(seq)) this.queuedLive++;
      else this.fail(seq, 'queue_full', nowMs, out);
    }
    reruns.length = 0;
    this.stateNow = 'loading';
    this.stats.coldStarts++;
    return this.setWake(nowMs + restartAfterMs + this.latency.coldStartMs());
  }

  /** One admitted sequence whose runtime died: re-run (kept in this.reruns, in order) or failed. */
  private runtimeLost(seq: SimSequence, nowMs: number, out: WorkerOutput): void {
    const d = onRuntimeLost({ tokensSent: seq.generated, attempt: seq.attempt, stopping: false }, this.crashRetriesMax);
    if (d.kind === 'fail') {
      this.failRunning(seq, 'runtime_crashed', nowMs, out);
      return;
    }
    this.memory.release(seq.kvBytes, nowMs, seq.requestId);
    seq.resetForRerun();
    seq.attempt = d.attempt;
    this.stats.crashReruns++;
    this.reruns.push(seq);
  }

  /** Between restart() and the end of the model load that follows it (not serving yet). */
  get restarting(): boolean {
    return this.restartingNow;
  }

  private kill(nowMs: number, downMs: number, out: WorkerOutput): number {
    for (let seq = this.decodingHead; seq !== undefined; seq = seq.nextDecoding) {
      seq.generated = this.decodeSteps - seq.decodeBaseStep;
      this.failRunning(seq, 'worker_crashed', nowMs, out);
    }
    for (const seq of this.prefilling) this.failRunning(seq, 'worker_crashed', nowMs, out);
    this.clearDecoding();
    this.prefilling.length = 0;
    this.totalContext = 0;
    while (this.queue.size > 0) {
      const seq = this.queue.shift();
      if (!seq.cancelled) this.fail(seq, 'worker_crashed', nowMs, out);
    }
    this.queuedLive = 0;
    this.prefixCache.clear();
    this.stateNow = 'down';
    return this.setWake(nowMs + downMs);
  }

  /** Removes a sequence (the gateway's cancel command). No event is emitted. Returns whether it was here. */
  cancel(requestId: RequestId, nowMs: number): boolean {
    for (let i = 0; i < this.queue.size; i++) {
      const seq = this.queue.at(i);
      if (!seq.cancelled && seq.requestId === requestId) {
        seq.cancelled = true;
        this.queuedLive--;
        return true;
      }
    }
    const seq = this.removeAdmitted(requestId);
    if (!seq) return false;
    this.memory.release(seq.kvBytes, nowMs, requestId);
    seq.cancelled = true;
    seq.endMs = nowMs;
    return true;
  }

  private setWake(atMs: number): number {
    this.wakeId++;
    return atMs;
  }

  private fail(seq: SimSequence, code: WorkerErrorCode, nowMs: number, out: WorkerOutput): number {
    seq.endMs = nowMs;
    this.stats.failed++;
    out.push(WorkerEventKind.error, seq, code);
    return NO_WAKE;
  }

  private failRunning(seq: SimSequence, code: WorkerErrorCode, nowMs: number, out: WorkerOutput): void {
    this.memory.release(seq.kvBytes, nowMs, seq.requestId);
    this.fail(seq, code, nowMs, out);
  }

  private slowFactor(nowMs: number): number {
    let f = 1;
    for (const w of this.slowdowns) {
      if (w.startMs > nowMs) break;
      if (nowMs < w.endMs) f *= w.factor;
    }
    return f;
  }

  /** Takes an admitted sequence out of the decode or prefill batch (its context leaves the decode batch's). */
  private removeAdmitted(requestId: RequestId): SimSequence | undefined {
    for (let seq = this.decodingHead; seq !== undefined; seq = seq.nextDecoding) {
      if (seq.requestId !== requestId) continue;
      this.unlinkDecoding(seq); // its entry in `due` is skipped when popped (cancel marks it cancelled)
      seq.generated = this.decodeSteps - seq.decodeBaseStep;
      this.totalContext -= seq.input.promptTokens + seq.generated;
      return seq;
    }
    const p = this.prefilling.findIndex((s) => s.requestId === requestId);
    if (p < 0) return undefined;
    const seq = this.prefilling[p]!;
    this.prefilling.splice(p, 1);
    return seq;
  }

  /** Admits waiting sequences into the prefill batch; returns their request overheads (ms). */
  private admit(nowMs: number): number {
    const lat = this.latency;
    const prefilling = this.prefilling;
    let overheadMs = 0;
    while (this.queue.size > 0 && prefilling.length < this.prefillBatchSize && this.decodingCount + prefilling.length < this.maxSequences) {
      const seq = this.queue.peek();
      if (seq.cancelled) {
        this.queue.shift();
        continue;
      }
      if (!this.admitHead(seq, nowMs)) break;
      overheadMs += startPrefill(seq, lat);
      prefilling.push(seq);
    }
    return overheadMs;
  }

  /**
   * Moves `seq` (the queue's first live sequence) into the prompt batch if KV memory admits it:
   * reserves its worst-case KV and looks up its prefix cache. Returns false (nothing changed) if not.
   */
  private admitHead(seq: SimSequence, nowMs: number): boolean {
    const inp = seq.input;
    const kv = this.kvBytesOf(inp);
    if (!this.memory.canAdmit(kv, nowMs)) return false;
    while (this.queue.peek() !== seq) this.queue.shift(); // cancelled ones ahead of it
    this.queue.shift();
    this.queuedLive--;
    this.memory.reserve(kv, nowMs, inp.requestId, inp.sessionId);
    seq.kvBytes = kv;
    seq.cachedTokens = this.prefixCache.lookup(inp.sessionId, inp.prefixBlocks, inp.promptTokens);
    seq.admitMs = nowMs;
    return true;
  }

  /** The tokens a sequence holds KV for from its admission (kvReservation). */
  private heldTokensOf(inp: SequenceInput): number {
    return this.reserveMaxTokens ? kvReserveTokens(inp.promptTokens, inp.maxTokens) : inp.promptTokens + inp.outputTokens;
  }

  private kvBytesOf(inp: SequenceInput): number {
    return this.heldTokensOf(inp) * this.latency.kvBytesPerToken;
  }

  /**
   * Ends the sequences whose deadline has passed (core/worker/deadline.ts) with `deadline_exceeded`:
   * waiting or running, their KV released. Checked at each step's start (and at submit), so a running
   * sequence ends at the first step boundary at or after its deadline; the live node cancels at the
   * instant. Costs nothing until a sequence with a deadline was submitted.
   */
  private endPastDeadlines(nowMs: number, out: WorkerOutput): void {
    const passed = (seq: SimSequence): boolean => deadlinePassed(seq.input.deadlineMs ?? NO_DEADLINE, nowMs);
    for (let i = 0; i < this.queue.size; i++) {
      const seq = this.queue.at(i);
      if (seq.cancelled || !passed(seq)) continue;
      seq.cancelled = true; // skipped by the queue from now on
      this.queuedLive--;
      this.fail(seq, 'deadline_exceeded', nowMs, out);
    }
    for (let seq = this.decodingHead; seq !== undefined; ) {
      const next = seq.nextDecoding;
      if (passed(seq)) {
        this.unlinkDecoding(seq);
        seq.generated = this.decodeSteps - seq.decodeBaseStep;
        this.totalContext -= seq.input.promptTokens + seq.generated;
        seq.cancelled = true; // its entry in `due` is skipped when popped
        this.failRunning(seq, 'deadline_exceeded', nowMs, out);
      }
      seq = next;
    }
    const prefilling = this.prefilling;
    let w = 0;
    for (let r = 0; r < prefilling.length; r++) {
      const seq = prefilling[r]!;
      if (passed(seq)) this.failRunning(seq, 'deadline_exceeded', nowMs, out);
      else prefilling[w++] = seq;
    }
    prefilling.length = w;
  }

  private startStep(nowMs: number, out: WorkerOutput): number {
    if (this.deadlines) this.endPastDeadlines(nowMs, out);
    const lat = this.latency;
    const nDecoding = this.decodingCount;
    // Every decoding sequence has its first token by now (joiners get it at the end of their join step).
    const continuing = nDecoding;
    let workMs = nDecoding === 0 ? 0 : this.paddedBuckets === undefined ? lat.decodeStepMs(nDecoding, this.totalContext)
      : paddedDecodeMs(this.decodingHead, this.decodeSteps, this.paddedBuckets, lat, this.bucketCount, this.bucketLongest);
    if (this.constrainedDecoding > 0) workMs += this.constrainedDecoding * this.constrainedRowMs;
    if (this.planner !== undefined) return this.startPlannedStep(nowMs, workMs);
    workMs += this.admit(nowMs);
    const prefilling = this.prefilling;
    let budget = this.maxPrefillTokens;
    let joining = 0;
    let joiningContext = 0;
    for (let i = 0; i < prefilling.length; i++) {
      const seq = prefilling[i]!;
      workMs += planChunk(seq, lat, this.prefillStepTokens, budget);
      budget -= seq.stepChunkTokens;
      if (seq.joining) {
        joining++;
        joiningContext += seq.input.promptTokens;
      }
    }
    // mlx-lm's GenerationBatch constructor runs the joiners' first forward pass on its own.
    if (joining > 0) workMs += lat.decodeStepMs(joining, joiningContext);
    if (nDecoding === 0 && prefilling.length === 0) {
      this.stateNow = 'idle';
      // An external governor refused admission with nothing running: nothing will free memory, so retry.
      return this.queuedLive > 0 ? this.setWake(nowMs + this.retryMs) : NO_WAKE;
    }
    const stepMs = workMs * (this.slowdowns.length > 0 ? this.slowFactor(nowMs) : 1);
    this.stateNow = 'busy';
    this.stepStartMs = nowMs;
    this.stepContinuing = continuing;
    this.stepPrefillTokens = this.maxPrefillTokens - budget;
    return this.setWake(nowMs + stepMs);
  }

  /** The step planner's step: admission and chunks from core's planStep; the last chunk yields the first token. */
  private startPlannedStep(nowMs: number, decodeMs: number): number {
    const { config, cost } = this.planner!;
    const lat = this.latency;
    const prefilling = this.prefilling;
    const pre = this.planPrefilling;
    const wait = this.planWaiting;
    const waitSeqs = this.planWaitingSeqs;
    pre.length = 0;
    wait.length = 0;
    waitSeqs.length = 0;
    for (const seq of prefilling) pre.push({ leftTokens: seq.prefillLeftTokens, promptTokens: seq.input.promptTokens });
    const room = config.maxSequences - this.decodingCount - prefilling.length;
    for (let i = 0; i < this.queue.size && waitSeqs.length < room; i++) {
      const seq = this.queue.at(i);
      if (seq.cancelled) continue;
      const inp = seq.input;
      wait.push({ prefillTokens: inp.promptTokens - this.prefixCache.peek(inp.sessionId, inp.prefixBlocks, inp.promptTokens), promptTokens: inp.promptTokens });
      waitSeqs.push(seq);
    }
    const plan = planStep(config, cost, { decoding: this.decodingCount, decodeContextTokens: this.totalContext, prefilling: pre, waiting: wait });
    let workMs = decodeMs;
    for (let j = 0; j < plan.admit; j++) {
      const seq = waitSeqs[j]!;
      if (!this.admitHead(seq, nowMs)) break;
      workMs += startPlannedPrefill(seq, lat);
      prefilling.push(seq);
    }
    let prefillTokens = 0;
    for (let i = 0; i < prefilling.length; i++) {
      const chunk = plan.chunks[i] ?? 0;
      workMs += chargePlannedChunk(prefilling[i]!, lat, chunk);
      prefillTokens += chunk;
    }
    if (this.decodingCount === 0 && prefillTokens === 0) {
      this.stateNow = 'idle';
      return this.queuedLive > 0 ? this.setWake(nowMs + this.retryMs) : NO_WAKE;
    }
    this.stateNow = 'busy';
    this.stepStartMs = nowMs;
    this.stepContinuing = this.decodingCount;
    this.stepContext = this.totalContext;
    this.stepPrefillTokens = prefillTokens;
    return this.setWake(nowMs + workMs * (this.slowdowns.length > 0 ? this.slowFactor(nowMs) : 1));
  }

  private finishStep(nowMs: number, out: WorkerOutput): void {
    this.advancePrefill();
    const n = this.decodingCount; // the step's decode batch (less any cancelled during the step) plus the joiners
    const durationMs = nowMs - this.stepStartMs;
    if (this.planner !== undefined) this.planner.cost.observe(this.stepContinuing, this.stepContext, this.stepPrefillTokens, durationMs);
    const st = this.stats;
    st.busyMs += durationMs;
    st.steps++;
    st.outputTokens += n;
    st.timeByBatchMs[n]! += durationMs;
    const kvCap = this.memory.capacityBytes;
    const kvUsed = this.memory.usedBytes;
    const pct = Math.min(100, Math.floor((kvUsed / kvCap) * 100));
    st.timeByKvPercentMs[pct]! += durationMs;
    if (this.observer) this.observer.onStep(this.index, this.stepStartMs, durationMs, n, Math.min(n, this.stepContinuing), this.stepPrefillTokens, kvUsed, kvCap);
    // Every decoding sequence gets one token; only those with an event this step are visited, in join
    // order: first the earlier sequences (from `due`), then this step's joiners (the batch's tail).
    const step = ++this.decodeSteps;
    let tokens = n;
    const due = this.due;
    while (due.size > 0 && due.peek().dueStep <= step) {
      const seq = due.pop();
      if (seq.cancelled) continue; // left the batch during its wait
      seq.generated = step - seq.decodeBaseStep;
      if (seq.generated >= seq.input.outputTokens) this.complete(seq, nowMs, out);
      else {
        out.push(WorkerEventKind.tokens, seq);
        this.scheduleDue(seq);
      }
    }
    const joiners = this.joiners;
    for (let i = 0; i < joiners.length; i++) {
      const seq = joiners[i]!;
      if (seq.willFail) {
        this.unlinkDecoding(seq);
        tokens--;
        this.totalContext -= seq.input.promptTokens;
        this.failRunning(seq, 'generation_failed', nowMs, out);
        continue;
      }
      seq.firstTokenMs = nowMs;
      out.push(WorkerEventKind.firstToken, seq);
      seq.decodeBaseStep = step - 1;
      seq.generated = 1;
      if (seq.generated >= seq.input.outputTokens) {
        this.complete(seq, nowMs, out);
        continue;
      }
      if (this.tokensEvery === 1) out.push(WorkerEventKind.tokens, seq);
      this.scheduleDue(seq);
    }
    // Setting an array's length is a runtime call that may also drop its backing store: only when needed.
    if (joiners.length > 0) joiners.length = 0;
    this.totalContext += tokens;
  }

  /** A decoding sequence generated its last token this step (seq.generated is current). */
  private complete(seq: SimSequence, nowMs: number, out: WorkerOutput): void {
    const inp = seq.input;
    seq.endMs = nowMs;
    this.unlinkDecoding(seq);
    this.totalContext -= inp.promptTokens + seq.generated;
    this.memory.release(seq.kvBytes, nowMs, seq.requestId, inp.promptTokens + seq.generated);
    this.prefixCache.store(inp.sessionId, inp.prefixBlocks, inp.promptTokens, inp.promptTokens + seq.generated);
    this.stats.completed++;
    out.push(WorkerEventKind.done, seq);
  }

  /** Queues a decoding sequence (seq.generated current, below its output) at the step of its next event. */
  private scheduleDue(seq: SimSequence): void {
    let dueStep = seq.decodeBaseStep + seq.input.outputTokens;
    const every = this.tokensEvery;
    if (every > 0) {
      const nextTokens = seq.decodeBaseStep + (Math.floor(seq.generated / every) + 1) * every;
      if (nextTokens < dueStep) dueStep = nextTokens;
    }
    seq.dueStep = dueStep;
    this.due.push(seq);
  }

  private linkDecoding(seq: SimSequence): void {
    seq.joinOrder = this.joinCount++;
    seq.prevDecoding = this.decodingTail;
    seq.nextDecoding = undefined;
    if (this.decodingTail === undefined) this.decodingHead = seq;
    else this.decodingTail.nextDecoding = seq;
    this.decodingTail = seq;
    this.decodingCount++;
    if (seq.input.constrained === true) this.constrainedDecoding++;
  }

  private unlinkDecoding(seq: SimSequence): void {
    const prev = seq.prevDecoding;
    const next = seq.nextDecoding;
    if (prev === undefined) this.decodingHead = next;
    else prev.nextDecoding = next;
    if (next === undefined) this.decodingTail = prev;
    else next.prevDecoding = prev;
    seq.prevDecoding = undefined;
    seq.nextDecoding = undefined;
    this.decodingCount--;
    if (seq.input.constrained === true) this.constrainedDecoding--;
  }

  private clearDecoding(): void {
    for (let seq = this.decodingHead; seq !== undefined; ) {
      const next = seq.nextDecoding;
      seq.prevDecoding = undefined;
      seq.nextDecoding = undefined;
      seq = next;
    }
    this.decodingHead = undefined;
    this.decodingTail = undefined;
    this.decodingCount = 0;
    this.constrainedDecoding = 0;
    this.due.clear();
    this.joiners.length = 0;
  }

  /** Applies the step's chunks; sequences that were down to their last prompt token join the decode batch (first token this step). */
  private advancePrefill(): void {
    const prefilling = this.prefilling;
    let w = 0;
    for (let r = 0; r < prefilling.length; r++) {
      const seq = prefilling[r]!;
      if (seq.joining) {
        seq.joining = false;
        this.linkDecoding(seq);
        this.joiners.push(seq);
        this.totalContext += seq.input.promptTokens;
        continue;
      }
      seq.prefillLeftTokens -= seq.stepChunkTokens;
      seq.stepChunkTokens = 0;
      prefilling[w++] = seq;
    }
    if (prefilling.length !== w) prefilling.length = w;
  }
}
