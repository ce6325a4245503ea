// The worker model: what one Mac running the MLX runtime does with the sequences it is given.
// A state machine driven by the engine (no clock, no heap of its own):
//   submit(seq, nowMs, out)       -> wake time to schedule, or NO_WAKE
//   onWake(nowMs, wakeId, out)    -> next wake time, or NO_WAKE   (stale wake ids are ignored)
//   crash(nowMs, restartAfterMs, out) -> restart wake time
//   restart(nowMs, downMs, out)   -> wake time (process back; it then loads the model at once)
// Events for the driver (firstToken, tokens, done, error) are appended to a reusable WorkerOutput.
//
// Continuous batching, one step at a time:
//   1. admit waiting sequences FIFO while running < maxSequences, the KV memory admission agrees and
//      the step's prefill tokens stay within maxPrefillTokensPerStep (at least one is admitted);
//      a prompt-cache hit skips the cached prefix of a session's prompt;
//   2. stepMs = (Σ prefillMs(new) + Σ requestOverheadMs(new) + decodeStepMs(running, totalContext)) × slowdown
//   3. at the end of the step every running sequence gets one token: new ones their first token,
//      finished ones leave (done) and release their KV.
// Cold start: a cold worker loads the model (coldStartMs) before its first step; a crash makes it cold.
// Bounds: maxSequences (batch), maxQueuedSequences (waiting FIFO), prefix-cache sessions.
import type { Rng, RequestId, WorkerId } from '../../core/types.js';
import type { LatencyModel } from '../latency/latency-model.js';
import { CapacityAdmission, type MemoryAdmission } from './memory.js';
import { SessionPrefixCache } from './prefix-cache.js';
import { validateSlowdown, type SlowdownWindow } from './faults.js';

export const NO_WAKE = -1;

export interface SequenceInput {
  readonly requestId: RequestId;
  readonly promptTokens: number;
  /** Tokens this sequence will generate (the workload's ground truth, <= maxTokens). */
  readonly outputTokens: number;
  readonly prefixBlocks: readonly number[];
  readonly sessionId?: string;
  /** The driver's own reference (e.g. the InferenceRequest); carried untouched. */
  readonly tag?: unknown;
}

/** One sequence on a worker, with its timing. Times are -1 until reached. */
export class SimSequence {
  submitMs: number;
  admitMs = -1;
  firstTokenMs = -1;
  endMs = -1;
  generated = 0;
  cachedTokens = 0;
  prefillComputeMs = 0;
  kvBytes = 0;
  willFail = false;
  cancelled = false;

  constructor(readonly input: SequenceInput, nowMs: number) {
    this.submitMs = nowMs;
  }

  get requestId(): RequestId {
    return this.input.requestId;
  }
  /** submit → admission into the batch. */
  get queueMs(): number {
    return this.admitMs < 0 ? 0 : this.admitMs - this.submitMs;
  }
  /** admission → first token (its prefill and first decode step, plus others' prefill in that step). */
  get prefillMs(): number {
    return this.firstTokenMs < 0 ? 0 : this.firstTokenMs - this.admitMs;
  }
  /** first token → last token. */
  get decodeMs(): number {
    return this.firstTokenMs < 0 || this.endMs < 0 ? 0 : this.endMs - this.firstTokenMs;
  }
}

export const WorkerEventKind = { firstToken: 1, tokens: 2, done: 3, error: 4 } as const;
export type WorkerEventKind = (typeof WorkerEventKind)[keyof typeof WorkerEventKind];

export type WorkerErrorCode = 'worker_crashed' | 'worker_down' | 'injected_error' | 'queue_full' | 'kv_exceeds_capacity' | 'context_too_long';

/** A reusable buffer of worker events (struct of arrays; read count entries, then reset). */
export class WorkerOutput {
  count = 0;
  readonly kinds: WorkerEventKind[] = [];
  readonly seqs: SimSequence[] = [];
  readonly codes: (WorkerErrorCode | undefined)[] = [];

  reset(): void {
    this.count = 0;
  }

  push(kind: WorkerEventKind, seq: SimSequence, code?: WorkerErrorCode): void {
    const i = this.count++;
    this.kinds[i] = kind;
    this.seqs[i] = seq;
    this.codes[i] = code;
  }
}

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
  readonly maxPrefillTokensPerStep?: number;
  readonly prefixCacheSessions?: number;
  /** Tokens per prefix block of the workload (64, see workload/blocks.ts). */
  readonly prefixBlockTokens?: number;
  readonly startWarm?: boolean;
  readonly memory?: MemoryAdmission;
  /** Retry delay when memory refuses admission with an empty batch (an external governor). */
  readonly admissionRetryMs?: number;
  readonly slowdowns?: readonly SlowdownWindow[];
  readonly errorProbability?: number;
  readonly faultRng?: Rng;
  /** Emit a `tokens` event every N generated tokens per sequence (0: never). */
  readonly tokensEventEvery?: number;
  readonly observer?: StepObserver;
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
  completed: number;
  failed: number;
  /** Time (ms) spent in steps of each batch size (index = batch size). */
  readonly timeByBatchMs: Float64Array;
  /** Time (ms) spent at each KV-use percentage (index 0..100). */
  readonly timeByKvPercentMs: Float64Array;
}

/** A bounded FIFO ring of sequences. */
class Ring {
  private buf: (SimSequence | undefined)[];
  private head = 0;
  size = 0;
  constructor(readonly capacity: number) {
    this.buf = new Array<SimSequence | undefined>(capacity);
  }
  push(s: SimSequence): boolean {
    if (this.size === this.capacity) return false;
    this.buf[(this.head + this.size) % this.capacity] = s;
    this.size++;
    return true;
  }
  peek(): SimSequence {
    return this.buf[this.head] as SimSequence;
  }
  shift(): SimSequence {
    const s = this.buf[this.head] as SimSequence;
    this.buf[this.head] = undefined;
    this.head = (this.head + 1) % this.capacity;
    this.size--;
    return s;
  }
  at(i: number): SimSequence {
    return this.buf[(this.head + i) % this.capacity] as SimSequence;
  }
}

export class SimWorker {
  readonly id: WorkerId;
  readonly index: number;
  private readonly latency: LatencyModel;
  private readonly memory: MemoryAdmission;
  readonly prefixCache: SessionPrefixCache;
  private readonly queue: Ring;
  private readonly running: SimSequence[] = [];
  private readonly maxSequences: number;
  private readonly maxPrefillTokens: number;
  private readonly slowdowns: readonly SlowdownWindow[];
  private readonly errorProbability: number;
  private readonly faultRng: Rng | undefined;
  private readonly tokensEvery: number;
  private readonly observer: StepObserver | undefined;
  private readonly retryMs: number;
  private stateNow: WorkerState;
  private restartingNow = false;
  private totalContext = 0;
  private stepStartMs = 0;
  private stepAdmitted = 0;
  private stepPrefillTokens = 0;
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
    posInt('maxPrefillTokensPerStep', c.maxPrefillTokensPerStep ?? 8192);
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
    this.maxPrefillTokens = c.maxPrefillTokensPerStep ?? 8192;
    this.slowdowns = [...(c.slowdowns ?? [])].sort((a, b) => a.startMs - b.startMs);
    this.errorProbability = p;
    this.faultRng = c.faultRng;
    this.tokensEvery = c.tokensEventEvery ?? 0;
    this.observer = c.observer;
    this.retryMs = c.admissionRetryMs ?? 50;
    this.stateNow = c.startWarm === false ? 'cold' : 'idle';
    this.stats = {
      busyMs: 0, steps: 0, outputTokens: 0, coldStarts: 0, crashes: 0, completed: 0, failed: 0,
      timeByBatchMs: new Float64Array(c.maxSequences + 1),
      timeByKvPercentMs: new Float64Array(101),
    };
  }

  get state(): WorkerState {
    return this.stateNow;
  }
  /** Sequences waiting plus running: the load a least-loaded router reads. */
  get load(): number {
    return this.queuedLive + this.running.length;
  }
  get runningCount(): number {
    return this.running.length;
  }
  get queuedCount(): number {
    return this.queuedLive;
  }

  view(): WorkerView {
    return { id: this.id, state: this.stateNow, queued: this.queuedLive, running: this.running.length, kvUsedBytes: this.memory.usedBytes, kvCapacityBytes: this.memory.capacityBytes };
  }

  /** Accepts a sequence. Returns the time of a wake the driver must schedule (with this.wakeId), or NO_WAKE. */
  submit(input: SequenceInput, nowMs: number, out: WorkerOutput): number {
    if (!(input.promptTokens >= 1) || !(input.outputTokens >= 1)) throw new Error(`worker ${this.id}: request ${input.requestId} needs promptTokens >= 1 and outputTokens >= 1 (got ${input.promptTokens}, ${input.outputTokens})`);
    const seq = new SimSequence(input, nowMs);
    if (this.faultRng && this.errorProbability > 0) seq.willFail = this.faultRng() < this.errorProbability;
    if (this.stateNow === 'down') return this.fail(seq, 'worker_down', nowMs, out);
    if (input.promptTokens + input.outputTokens > this.latency.contextTokensMax) return this.fail(seq, 'context_too_long', nowMs, out);
    if ((input.promptTokens + input.outputTokens) * this.latency.kvBytesPerToken > this.memory.capacityBytes) return this.fail(seq, 'kv_exceeds_capacity', nowMs, out);
    if (!this.queue.push(seq)) return this.fail(seq, 'queue_full', nowMs, out);
    this.queuedLive++;
    if (this.stateNow === 'cold') {
      this.stateNow = 'loading';
      this.stats.coldStarts++;
      return this.setWake(nowMs + this.latency.coldStartMs());
    }
    if (this.stateNow === 'idle') return this.startStep(nowMs);
    return NO_WAKE;
  }

  /** Handles a wake: end of model load, end of a step, end of a crash's downtime, or an admission retry. */
  onWake(nowMs: number, wakeId: number, out: WorkerOutput): number {
    if (wakeId !== this.wakeId) return NO_WAKE;
    switch (this.stateNow) {
      case 'busy':
        this.finishStep(nowMs, out);
        return this.startStep(nowMs);
      case 'loading':
      case 'idle':
        this.stateNow = 'idle';
        this.restartingNow = false;
        return this.startStep(nowMs);
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

  /** Between restart() and the end of the model load that follows it (not serving yet). */
  get restarting(): boolean {
    return this.restartingNow;
  }

  private kill(nowMs: number, downMs: number, out: WorkerOutput): number {
    for (const seq of this.running) this.failRunning(seq, 'worker_crashed', nowMs, out);
    this.running.length = 0;
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
    const i = this.running.findIndex((s) => s.requestId === requestId);
    if (i < 0) return false;
    const seq = this.running[i]!;
    this.running.splice(i, 1);
    this.totalContext -= seq.input.promptTokens + seq.generated;
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

  private startStep(nowMs: number): number {
    const lat = this.latency;
    const running = this.running;
    let prefillMs = 0;
    let prefillTokens = 0;
    let admitted = 0;
    while (this.queue.size > 0 && running.length < this.maxSequences) {
      const seq = this.queue.peek();
      if (seq.cancelled) {
        this.queue.shift();
        continue;
      }
      const inp = seq.input;
      const kv = (inp.promptTokens + inp.outputTokens) * lat.kvBytesPerToken;
      if (!this.memory.canAdmit(kv, nowMs)) break;
      const cached = this.prefixCache.lookup(inp.sessionId, inp.prefixBlocks, inp.promptTokens);
      const tokens = inp.promptTokens - cached;
      if (admitted > 0 && prefillTokens + tokens > this.maxPrefillTokens) break;
      this.queue.shift();
      this.queuedLive--;
      this.memory.reserve(kv, nowMs, inp.requestId, inp.sessionId);
      seq.kvBytes = kv;
      seq.cachedTokens = cached;
      seq.admitMs = nowMs;
      seq.prefillComputeMs = lat.prefillMs(inp.promptTokens, cached) + lat.requestOverheadMs;
      prefillMs += seq.prefillComputeMs;
      prefillTokens += tokens;
      admitted++;
      running.push(seq);
      this.totalContext += inp.promptTokens;
    }
    if (running.length === 0) {
      this.stateNow = 'idle';
      // An external governor refused admission with nothing running: nothing will free memory, so retry.
      return this.queuedLive > 0 ? this.setWake(nowMs + this.retryMs) : NO_WAKE;
    }
    const stepMs = (prefillMs + lat.decodeStepMs(running.length, this.totalContext)) * (this.slowdowns.length > 0 ? this.slowFactor(nowMs) : 1);
    this.stateNow = 'busy';
    this.stepStartMs = nowMs;
    this.stepAdmitted = admitted;
    this.stepPrefillTokens = prefillTokens;
    return this.setWake(nowMs + stepMs);
  }

  private finishStep(nowMs: number, out: WorkerOutput): void {
    const running = this.running;
    const n = running.length;
    const durationMs = nowMs - this.stepStartMs;
    const st = this.stats;
    st.busyMs += durationMs;
    st.steps++;
    st.outputTokens += n;
    st.timeByBatchMs[n]! += durationMs;
    const kvCap = this.memory.capacityBytes;
    const kvUsed = this.memory.usedBytes;
    const pct = Math.min(100, Math.floor((kvUsed / kvCap) * 100));
    st.timeByKvPercentMs[pct]! += durationMs;
    if (this.observer) this.observer.onStep(this.index, this.stepStartMs, durationMs, n, n - this.stepAdmitted, this.stepPrefillTokens, kvUsed, kvCap);
    const every = this.tokensEvery;
    let w = 0;
    for (let r = 0; r < n; r++) {
      const seq = running[r]!;
      if (seq.firstTokenMs < 0) {
        if (seq.willFail) {
          this.totalContext -= seq.input.promptTokens;
          this.failRunning(seq, 'injected_error', nowMs, out);
          continue;
        }
        seq.firstTokenMs = nowMs;
        out.push(WorkerEventKind.firstToken, seq);
      }
      seq.generated++;
      this.totalContext++;
      if (seq.generated >= seq.input.outputTokens) {
        seq.endMs = nowMs;
        this.totalContext -= seq.input.promptTokens + seq.generated;
        this.memory.release(seq.kvBytes, nowMs, seq.requestId, seq.input.promptTokens + seq.generated);
        this.prefixCache.store(seq.input.sessionId, seq.input.prefixBlocks, seq.input.promptTokens, seq.input.promptTokens + seq.generated);
        st.completed++;
        out.push(WorkerEventKind.done, seq);
        continue;
      }
      if (every > 0 && seq.generated % every === 0) out.push(WorkerEventKind.tokens, seq);
      running[w++] = seq;
    }
    running.length = w;
  }
}
