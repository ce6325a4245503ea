/* eslint-disable max-lines -- the two step loops share the batch, queue and KV state they mutate every step (see below) */
// Over 400 lines because its two step loops share the batch, queue and KV state they mutate every step
// (hot: one call per simulated step); config, prefill chunks, padded decode and idle handling are split out.
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
//   (a calibrated profile adds sampledRowMs per decoding row while a sampled request decodes, and its
//   joinCost replaces the request overheads: once per batch that prompts join, + per prompt);
//   at the end of the step every decoding sequence (joiners included) gets one token (finished ones
//   leave and release KV).
// A long prompt thus shares its prefill with the decode steps of the running batch instead of stalling it.
// Cold start: a cold worker loads the model (coldStartMs) before its first step; a crash makes it cold,
// and so does an idle unload (modelIdle, model-idle.ts: core's idle-unload and prewarm decision).
// Bounds: maxSequences (batch), prefillBatchSize, maxQueuedSequences (waiting FIFO) and maxConcurrent
// (held: queued + running) as core's admission limits (core/worker/admission-limits.ts), prefix-cache sessions.
// Decisions shared with the live worker node (core/worker/): the KV reserved at admission (prompt +
// max_tokens), a request's deadline (checked at submit and at each step's start), a runtime lost
// before a sequence's first token (crashRuntime reports it to the gateway core, which retries it).
import type { Rng, RequestId, WorkerId } from '../../core/types.js';
import type { LatencyModel } from '../latency/latency-model.js';
import { CapacityAdmission, type MemoryAdmission } from './memory.js';
import type { StepObserver, WorkerConfig } from './worker-config.js';
import { SessionPrefixCache } from './prefix-cache.js';
import { slowFactorAt, validateSlowdown, type SlowdownWindow } from './faults.js';
import { PREFILL_BATCH_SIZE_DEFAULT, PREFILL_STEP_TOKENS_DEFAULT, chargePlannedChunk, planChunk, startPlannedPrefill, startPrefill } from './prefill-chunks.js';
import { StepCostModel } from '../../core/scheduling/step-cost.js';
import { planStep, validatePlannerConfig, type PrefillingSeq, type StepPlannerConfig, type WaitingSeq } from '../../core/scheduling/step-planner.js';
import { admitGroupError, admitNow, type AdmitGroupConfig } from '../../core/scheduling/admit-group.js';
import { bucketOf, contextBucketsError } from '../../core/scheduling/context-buckets.js';
import { paddedDecodeMs } from './padded-decode.js';
import { kvReserveTokens } from '../../core/worker/kv-reservation.js';
import { onRuntimeLost } from '../../core/worker/runtime-lost.js';
import { admitWithinLimits, validateAdmissionLimits, waitWithinLimits, type AdmissionLimits } from '../../core/worker/admission-limits.js';
import { deadlinePassed, NO_DEADLINE } from '../../core/worker/deadline.js';
import { ModelIdle } from './model-idle.js';
import { DueHeap, Ring, SimSequence, WorkerEventKind, type SequenceInput, type WorkerErrorCode, type WorkerOutput } from './sequence.js';

export { SimSequence, WorkerEventKind, WorkerOutput, type SequenceInput, type WorkerErrorCode } from './sequence.js';
export type { StepObserver, WorkerConfig, WorkerPlannerConfig } from './worker-config.js';

export const NO_WAKE = -1;

/**
 * What a constrained row (response_format json_object / json_schema) adds to a decode step: the
 * runtime computes its llguidance mask and applies it row by row, and loses mlx-lm's overlap of host
 * work with the next forward pass. Measured in the runtime (`bash scripts/structured-mask-cost.sh`, the
 * tiny model on this CPU): an engine step of 32 sequences, all constrained, 12.0 → 19.6 ms, 0.24 ms a row.
 */
export const CONSTRAINED_ROW_MS_DEFAULT = 0.24;

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
  /** Sequences whose runtime died before their first token, reported as `runtime_lost` (the gateway core retries them). */
  runtimeLost: number;
  /** Sequences ended with deadline_exceeded (core/worker/deadline.ts). */
  deadlineExceeded: number;
  /** modelIdle: the model unloaded for idleness, or kept loaded and warmed because it was hot. */
  idleUnloads: number;
  prewarms: number;
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
  /** Decoding sequences that sample (temperature > 0): while any decodes, the batch samples row by row (LatencyModel.sampledRowMs). */
  private sampledDecoding = 0;
  private readonly bucketSampled: number[] = [];
  private readonly constrainedRowMs: number;
  /** The admit group (undefined: at once). */
  private readonly admitGroup: AdmitGroupConfig | undefined;
  /** decodeLayout padded: the buckets' upper edges ([] = one batch), and per-bucket scratch. */
  private readonly paddedBuckets: readonly number[] | undefined;
  private readonly bucketCount: number[] = [];
  private readonly bucketLongest: number[] = [];
  /** admit's scratch: which context buckets (or the one batch) prompts joined this step. */
  private readonly bucketJoined: boolean[];
  private decodeSteps = 0;
  private joinCount = 0;
  private readonly due = new DueHeap();
  /** This step's joiners (scratch). */
  private readonly joiners: SimSequence[] = [];
  /** The prompt batch: admitted sequences still in prefill (≤ prefillBatchSize). */
  private readonly prefilling: SimSequence[] = [];
  private readonly maxSequences: number;
  private readonly limits: AdmissionLimits;
  private readonly prefillStepTokens: number;
  private readonly prefillBatchSize: number;
  private readonly maxPrefillTokens: number;
  private readonly slowdowns: readonly SlowdownWindow[];
  private readonly errorProbability: number;
  private readonly faultRng: Rng | undefined;
  private readonly tokensEvery: number;
  private readonly observer: StepObserver | undefined;
  private readonly retryMs: number;
  private readonly modelIdle: ModelIdle | undefined;
  private readonly reserveMaxTokens: boolean;
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
    this.limits = { maxConcurrent: c.maxConcurrent ?? Number.POSITIVE_INFINITY, waitingMax: c.maxQueuedSequences };
    validateAdmissionLimits(this.limits);
    this.maxSequences = c.maxSequences;
    this.prefillStepTokens = stepTokens;
    this.prefillBatchSize = prefillBatch;
    this.maxPrefillTokens = prefillCap;
    this.constrainedRowMs = c.constrainedRowMs ?? CONSTRAINED_ROW_MS_DEFAULT;
    this.paddedBuckets = c.decodeLayout?.type === 'padded' ? [...(c.decodeLayout.contextBuckets ?? [])] : undefined;
    const bucketsError = this.paddedBuckets === undefined ? undefined : contextBucketsError(this.paddedBuckets);
    if (bucketsError !== undefined) throw new Error(`worker ${c.id}: decodeLayout.${bucketsError}`);
    this.bucketJoined = new Array<boolean>((this.paddedBuckets?.length ?? 0) + 1).fill(false);
    const groupError = c.admitGroup === undefined ? undefined : admitGroupError(c.admitGroup);
    if (groupError !== undefined) throw new Error(`worker ${c.id}: admitGroup: ${groupError}`);
    this.admitGroup = c.admitGroup !== undefined && c.admitGroup.minGroup > 1 ? c.admitGroup : undefined;
    if (!(this.constrainedRowMs >= 0 && Number.isFinite(this.constrainedRowMs))) throw new Error(`worker ${c.id}: constrainedRowMs must be a finite number >= 0, got ${this.constrainedRowMs}`);
    this.slowdowns = [...(c.slowdowns ?? [])].sort((a, b) => a.startMs - b.startMs);
    this.errorProbability = p;
    this.faultRng = c.faultRng;
    this.tokensEvery = c.tokensEventEvery ?? 0;
    this.observer = c.observer;
    this.retryMs = c.admissionRetryMs ?? 50;
    this.modelIdle = c.modelIdle === undefined ? undefined : new ModelIdle(c.modelIdle);
    this.reserveMaxTokens = (c.kvReservation ?? 'max-tokens') === 'max-tokens';
    this.stateNow = c.startWarm === false ? 'cold' : 'idle';
    if (c.planner !== undefined) {
      validatePlannerConfig(c.planner.config);
      this.planner = { config: c.planner.config, cost: new StepCostModel(c.planner.prior, c.planner.options) };
    }
    this.stats = {
      busyMs: 0, steps: 0, outputTokens: 0, coldStarts: 0, crashes: 0, runtimeCrashes: 0, runtimeLost: 0, deadlineExceeded: 0, idleUnloads: 0, prewarms: 0, completed: 0, failed: 0,
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
    this.modelIdle?.noteArrival(nowMs);
    if (input.deadlineMs !== undefined) {
      this.deadlines = true;
      if (deadlinePassed(input.deadlineMs, nowMs)) return this.fail(seq, 'deadline_exceeded', nowMs, out);
    }
    // Prompt + max_tokens must fit the context and the KV (as the runtime checks); final-context: prompt + output.
    if (this.heldTokensOf(input) > this.latency.contextTokensMax) return this.fail(seq, 'context_length_exceeded', nowMs, out);
    if (this.kvBytesOf(input) > this.memory.capacityBytes) return this.fail(seq, 'kv_exceeds_capacity', nowMs, out);
    const limit = admitWithinLimits(this.queuedLive + this.runningCount, this.limits);
    if (limit.kind === 'refuse') return this.fail(seq, limit.code, nowMs, out);
    // The ring also holds cancelled entries until they reach its head: full is full.
    if (waitWithinLimits(this.queuedLive, this.limits).kind === 'refuse' || !this.queue.push(seq)) return this.fail(seq, 'queue_full', nowMs, out);
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
      case 'idle':
      case 'loading':
        // An idle wake with nothing to do is the one goIdle armed for modelIdle (a submit re-arms it).
        if (this.stateNow === 'idle' && this.modelIdle !== undefined && this.queuedLive === 0 && this.runningCount === 0) return this.onIdleFor(nowMs);
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
   * (still in prefill) ends with `runtime_lost`, which the gateway core retries (its retry budget, this
   * worker's breaker; a simulated worker has one runtime, so never retryHere); the others end with
   * `runtime_crashed`. Queued sequences wait for the runtime. The runtime's prompt cache is lost.
   */
  crashRuntime(nowMs: number, restartAfterMs: number, out: WorkerOutput): number {
    if (this.stateNow === 'down' || this.stateNow === 'cold') return NO_WAKE;
    this.stats.runtimeCrashes++;
    this.dropAdmitted((seq) => this.runtimeLost(seq, nowMs, out));
    this.prefixCache.clear();
    this.stateNow = 'loading';
    this.stats.coldStarts++;
    return this.setWake(nowMs + restartAfterMs + this.latency.coldStartMs());
  }

  /** One admitted sequence whose runtime died: reported to the gateway as runtime_lost, or failed. */
  private runtimeLost(seq: SimSequence, nowMs: number, out: WorkerOutput): void {
    const d = onRuntimeLost({ tokensSent: seq.generated, otherRuntimesAlive: 0, stopping: false });
    if (d.kind === 'report') this.stats.runtimeLost++;
    this.failRunning(seq, d.kind === 'report' ? d.code : 'runtime_crashed', nowMs, out);
  }

  /** Ends every admitted sequence (decoding, then prefilling) with `end` and empties both batches. */
  private dropAdmitted(end: (seq: SimSequence) => void): void {
    for (let seq = this.decodingHead; seq !== undefined; seq = seq.nextDecoding) {
      seq.generated = this.decodeSteps - seq.decodeBaseStep;
      end(seq);
    }
    for (const seq of this.prefilling) end(seq);
    this.clearDecoding();
    this.prefilling.length = 0;
    this.totalContext = 0;
  }

  /** Between restart() and the end of the model load that follows it (not serving yet). */
  get restarting(): boolean {
    return this.restartingNow;
  }

  private kill(nowMs: number, downMs: number, out: WorkerOutput): number {
    this.dropAdmitted((seq) => this.failRunning(seq, 'worker_crashed', nowMs, out));
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
    if (code === 'deadline_exceeded') this.stats.deadlineExceeded++;
    out.push(WorkerEventKind.error, seq, code);
    return NO_WAKE;
  }

  private failRunning(seq: SimSequence, code: WorkerErrorCode, nowMs: number, out: WorkerOutput): void {
    this.memory.release(seq.kvBytes, nowMs, seq.requestId);
    this.fail(seq, code, nowMs, out);
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
    let admitted = 0;
    let batchesJoined = 0; // the batches prompts joined: one per context bucket (the runtime's bucket is a BatchGenerator of its own)
    const edges = this.paddedBuckets;
    const joined = this.bucketJoined;
    joined.fill(false);
    if (this.admitGroup !== undefined && this.holdAdmission(nowMs)) return 0;
    while (this.queue.size > 0 && prefilling.length < this.prefillBatchSize && this.decodingCount + prefilling.length < this.maxSequences) {
      const seq = this.queue.peek();
      if (seq.cancelled) {
        this.queue.shift();
        continue;
      }
      if (!this.admitHead(seq, nowMs)) break;
      overheadMs += startPrefill(seq, lat);
      prefilling.push(seq);
      admitted++;
      const b = edges === undefined || edges.length === 0 ? 0 : bucketOf(edges, seq.input.promptTokens);
      if (!joined[b]) {
        joined[b] = true;
        batchesJoined++;
      }
    }
    // A calibrated machine's measured cost of prompts joining a busy batch replaces the per-request overhead.
    // Its fixed part is per batch that prompts join: with context buckets each bucket's BatchGenerator
    // takes its joiners in its own pass (python/mlx_runtime/length_buckets.py), so prompts joining two
    // buckets in one loop iteration pay it twice, as live does.
    const join = lat.joinCost;
    return join === undefined || admitted === 0 ? overheadMs : join.perStepMs * batchesJoined + join.perPromptMs * admitted;
  }

  /** The admit group's decision (core's admitNow): true to admit nobody this step. */
  private holdAdmission(nowMs: number): boolean {
    if (this.queuedLive === 0) return false;
    let head = this.queue.peek();
    while (head.cancelled) {
      this.queue.shift();
      head = this.queue.peek();
    }
    const busy = this.decodingCount + this.prefilling.length;
    return admitNow(this.admitGroup!, { waiting: this.queuedLive, oldestWaitMs: nowMs - head.submitMs, busy, freeSlots: this.maxSequences - busy }) === 0;
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

  /** Nothing to run: retry an admission an external governor refused (nothing running will free memory), or arm modelIdle's idle check. */
  private goIdle(nowMs: number): number {
    this.stateNow = 'idle';
    if (this.queuedLive > 0) return this.setWake(nowMs + this.retryMs);
    return this.modelIdle === undefined ? NO_WAKE : this.setWake(nowMs + this.modelIdle.idleUnloadMs);
  }

  /** Idle for idleUnloadMs (core/worker/model-lifecycle.ts): unload the model (the worker turns cold), or keep a hot one loaded and warm. */
  private onIdleFor(nowMs: number): number {
    const m = this.modelIdle!;
    if (m.onIdle(nowMs) === 'prewarm') {
      this.stats.prewarms++;
      return this.setWake(nowMs + m.idleUnloadMs);
    }
    this.stats.idleUnloads++;
    this.stateNow = 'cold';
    this.prefixCache.clear();
    return NO_WAKE;
  }

  private startStep(nowMs: number, out: WorkerOutput): number {
    if (this.deadlines) this.endPastDeadlines(nowMs, out);
    const lat = this.latency;
    const nDecoding = this.decodingCount;
    // Every decoding sequence has its first token by now (joiners get it at the end of their join step).
    const continuing = nDecoding;
    let workMs = nDecoding === 0 ? 0 : this.paddedBuckets === undefined ? lat.decodeStepMs(nDecoding, this.totalContext) + (this.sampledDecoding > 0 ? nDecoding * (lat.sampledRowMs ?? 0) : 0)
      : paddedDecodeMs(this.decodingHead, this.decodeSteps, this.paddedBuckets, lat, this.bucketCount, this.bucketLongest, this.bucketSampled);
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
    if (nDecoding === 0 && prefilling.length === 0) return this.goIdle(nowMs);
    const stepMs = workMs * (this.slowdowns.length > 0 ? slowFactorAt(this.slowdowns, nowMs) : 1);
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
    if (this.decodingCount === 0 && prefillTokens === 0) return this.goIdle(nowMs);
    this.stateNow = 'busy';
    this.stepStartMs = nowMs;
    this.stepContinuing = this.decodingCount;
    this.stepContext = this.totalContext;
    this.stepPrefillTokens = prefillTokens;
    return this.setWake(nowMs + workMs * (this.slowdowns.length > 0 ? slowFactorAt(this.slowdowns, nowMs) : 1));
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
    while (due.minDueStep <= step) {
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
    // the next turn finds the prompt and the part of the answer that re-tokenizes as generated (LatencyModel.answerReuse)
    this.prefixCache.store(inp.sessionId, inp.prefixBlocks, inp.promptTokens, inp.promptTokens + Math.round(seq.generated * (this.latency.answerReuse ?? 1)));
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
    if (seq.input.sampled === true) this.sampledDecoding++;
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
    if (seq.input.sampled === true) this.sampledDecoding--;
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
    this.sampledDecoding = 0;
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

