// A sequence on a simulated worker (its timing and prefill progress), the worker's event buffer and
// its bounded waiting FIFO.
import type { RequestId } from '../../core/types.js';
import type { WorkerErrorCode as CoreWorkerErrorCode } from '../../core/worker/errors.js';

export interface SequenceInput {
  readonly requestId: RequestId;
  readonly promptTokens: number;
  /** Tokens this sequence will generate (the workload's ground truth, <= maxTokens). */
  readonly outputTokens: number;
  /** The request's max_tokens: the worker reserves KV for prompt + this (core/worker/kv-reservation.ts), not knowing the output. */
  readonly maxTokens: number;
  /** The request's deadline in simulated ms (absent: none), as the live node's deadlineUnixMs (core/worker/deadline.ts). */
  readonly deadlineMs?: number;
  readonly prefixBlocks: readonly number[];
  readonly sessionId?: string;
  /** The request asks for structured output: each decode step pays the grammar mask for its row (worker.ts constrainedRowMs). */
  readonly constrained?: boolean;
  /** The request samples (temperature > 0): a sampler of its own, so its decode batch samples row by row (LatencyModel.sampledRowMs). */
  readonly sampled?: boolean;
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
  /** Total prefill cost charged so far (chunk costs + the request overhead), ms before slow-down. */
  prefillComputeMs = 0;
  /** Uncached prompt tokens still to go through prefill chunks (the last prompt token is excluded: it goes through the decode step). */
  prefillLeftTokens = 0;
  /** Uncached prompt tokens whose prefill cost has been charged (reaches promptTokens − cachedTokens). */
  prefillChargedTokens = 0;
  /** Prompt tokens in this sequence's chunk of the current step (0: no chunk this step). */
  stepChunkTokens = 0;
  /** Set at step start when the prompt is down to its last token: joins the decode batch at the step's end. */
  joining = false;
  kvBytes = 0;
  willFail = false;
  cancelled = false;
  /**
   * Worker bookkeeping while decoding (generated is derived from the worker's step counter and only
   * written back when the sequence emits an event or leaves): the step count before its first token,
   * its position in join order, the step of its next event, and its links in the decode batch list.
   */
  decodeBaseStep = 0;
  joinOrder = 0;
  dueStep = 0;
  prevDecoding: SimSequence | undefined = undefined;
  nextDecoding: SimSequence | undefined = undefined;

  constructor(readonly input: SequenceInput, nowMs: number) {
    this.submitMs = nowMs;
  }

  get requestId(): RequestId {
    return this.input.requestId;
  }
  /** submit → admission into the prompt batch. */
  get queueMs(): number {
    return this.admitMs < 0 ? 0 : this.admitMs - this.submitMs;
  }
  /** admission → first token (its prefill chunks, the join step and its first decode step, all sharing steps with others). */
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

/** The codes the simulated worker ends a request with: names from core's worker catalogue (core/worker/errors.ts). */
export type WorkerErrorCode = Extract<CoreWorkerErrorCode, 'worker_crashed' | 'worker_down' | 'runtime_lost' | 'runtime_crashed' | 'deadline_exceeded' | 'generation_failed' | 'overloaded' | 'queue_full' | 'kv_exceeds_capacity' | 'context_length_exceeded'>;

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

/** A bounded FIFO ring of sequences. */
export class Ring {
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
  /** Puts `s` at the head (a re-run goes before the sequences that arrived after it). */
  unshift(s: SimSequence): boolean {
    if (this.size === this.capacity) return false;
    this.head = (this.head + this.capacity - 1) % this.capacity;
    this.buf[this.head] = s;
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

/**
 * A binary min-heap of decoding sequences by (dueStep, joinOrder): the step of each sequence's next
 * event, ties in the decode batch's join order (the order a scan of the batch would meet them).
 */
export class DueHeap {
  private readonly items: SimSequence[] = [];
  /**
   * The root's dueStep (Infinity when empty), kept beside the heap: a worker's step asks "is anything
   * due?" and the answer is almost always no, so it reads a number of the heap's own instead of the
   * root sequence, an object elsewhere in memory (issue 21).
   */
  minDueStep = Infinity;

  get size(): number {
    return this.items.length;
  }
  peek(): SimSequence {
    return this.items[0]!;
  }
  clear(): void {
    this.items.length = 0;
    this.minDueStep = Infinity;
  }
  push(seq: SimSequence): void {
    const a = this.items;
    let i = a.length;
    a.push(seq);
    while (i > 0) {
      const p = (i - 1) >> 1;
      const q = a[p]!;
      if (!before(seq, q)) break;
      a[i] = q;
      i = p;
    }
    a[i] = seq;
    if (i === 0) this.minDueStep = seq.dueStep;
  }
  pop(): SimSequence {
    const a = this.items;
    const top = a[0]!;
    const last = a.pop()!;
    const n = a.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && before(a[r]!, a[l]!) ? r : l;
        if (!before(a[c]!, last)) break;
        a[i] = a[c]!;
        i = c;
      }
      a[i] = last;
    }
    this.minDueStep = n > 0 ? a[0]!.dueStep : Infinity;
    return top;
  }
}

function before(a: SimSequence, b: SimSequence): boolean {
  return a.dueStep < b.dueStep || (a.dueStep === b.dueStep && a.joinOrder < b.joinOrder);
}
