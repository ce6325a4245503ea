// The order-dependent part of the per-step metrics under step chains (issue 21).
// A worker step adds its inter-token gap × continuing sequences to two float sums: the ITL histogram's
// sumMs and its time-series bucket. A float sum depends on the order of its terms, and the event path
// adds them in the event heap's order: by end time, then (same instant, same phase) by push order.
// With step chains a worker runs some of its steps late, so the terms are kept here, one log per
// worker (each log is in time order: a worker's steps run in its own order), and folded by a k-way
// merge on (end time, arrival number) once no earlier term can come (foldBefore's frontier).
// Two terms at the same instant from two workers, one of them run out of the heap's order, have no
// known order: StepOrderTieError (the run cannot be reproduced exactly with step chains).

export class StepOrderTieError extends Error {
  constructor(readonly atMs: number, readonly workerA: number, readonly workerB: number) {
    super(`stepChains: workers ${workerA} and ${workerB} both end a step at ${atMs} ms and one of them ran ahead of the event heap, so their order is unknown; rerun without stepChains`);
    this.name = 'StepOrderTieError';
  }
}

/** Where a folded term goes: called in the event path's order. */
export type StepTermSink = (endMs: number, term: number) => void;

/** Bound on terms waiting in one worker's log (a fold frontier that never advances is a bug). */
const LOG_MAX = 1 << 24;

class WorkerLog {
  endMs = new Float64Array(64);
  /** valueMs × count, or NaN: a step without a sample (kept only for the tie check). */
  term = new Float64Array(64);
  /** Arrival number (the order in which the steps were reported). */
  arrival = new Float64Array(64);
  orderKnown = new Uint8Array(64);
  head = 0;
  tail = 0;

  push(endMs: number, term: number, arrival: number, orderKnown: boolean): void {
    if (this.tail === this.endMs.length) this.makeRoom();
    const i = this.tail++;
    this.endMs[i] = endMs;
    this.term[i] = term;
    this.arrival[i] = arrival;
    this.orderKnown[i] = orderKnown ? 1 : 0;
  }

  private makeRoom(): void {
    const live = this.tail - this.head;
    if (live > LOG_MAX) throw new Error(`step order: more than ${LOG_MAX} step terms wait in one worker's log`);
    const cap = live * 2 > this.endMs.length ? this.endMs.length * 2 : this.endMs.length;
    this.endMs = compact(this.endMs, this.head, this.tail, cap);
    this.term = compact(this.term, this.head, this.tail, cap);
    this.arrival = compact(this.arrival, this.head, this.tail, cap);
    this.orderKnown = compact(this.orderKnown, this.head, this.tail, cap);
    this.head = 0;
    this.tail = live;
  }
}

/** Moves a[head, tail) to the front of an array of `cap` entries (a itself when it has that size). */
function compact<A extends Float64Array | Uint8Array>(a: A, head: number, tail: number, cap: number): A {
  if (cap === a.length) {
    a.copyWithin(0, head, tail);
    return a;
  }
  const b = new (a.constructor as new (n: number) => A)(cap);
  b.set(a.subarray(head, tail));
  return b;
}

export class StepSumsInOrder {
  private readonly logs: WorkerLog[] = [];
  private arrivals = 0;
  private pending = 0;
  /** Merge heap of worker indices by (head end time, head arrival). */
  private heap = new Int32Array(16);
  /** The last folded term (for the tie check across folds). */
  private lastMs = -Infinity;
  private lastWorker = -1;
  private lastKnown = true;

  get size(): number {
    return this.pending;
  }

  add(workerIndex: number, endMs: number, term: number, orderKnown: boolean): void {
    let log = this.logs[workerIndex];
    if (log === undefined) {
      while (this.logs.length <= workerIndex) this.logs.push(new WorkerLog());
      log = this.logs[workerIndex]!;
    }
    log.push(endMs, term, this.arrivals++, orderKnown);
    this.pending++;
  }

  /** Folds, in (end time, arrival) order, every term that ends before `frontierMs` (no earlier term can come any more). */
  foldBefore(frontierMs: number, sink: StepTermSink): void {
    if (this.pending === 0) return;
    const logs = this.logs;
    if (this.heap.length < logs.length) this.heap = new Int32Array(logs.length * 2);
    const h = this.heap;
    let n = 0;
    for (let w = 0; w < logs.length; w++) {
      const log = logs[w]!;
      if (log.head < log.tail && log.endMs[log.head]! < frontierMs) n = this.heapPush(h, n, w);
    }
    while (n > 0) {
      const w = h[0]!;
      const log = logs[w]!;
      const i = log.head++;
      this.pending--;
      const endMs = log.endMs[i]!;
      const known = log.orderKnown[i] === 1;
      if (endMs === this.lastMs && w !== this.lastWorker && !(known && this.lastKnown)) throw new StepOrderTieError(endMs, this.lastWorker, w);
      this.lastMs = endMs;
      this.lastWorker = w;
      this.lastKnown = known;
      const term = log.term[i]!;
      if (term === term) sink(endMs, term); // NaN: no sample
      if (log.head < log.tail && log.endMs[log.head]! < frontierMs) this.siftDown(h, n, w);
      else {
        n--;
        if (n > 0) this.siftDown(h, n, h[n]!);
      }
      if (log.head === log.tail) log.head = log.tail = 0;
    }
  }

  private before(a: number, b: number): boolean {
    const la = this.logs[a]!;
    const lb = this.logs[b]!;
    const ta = la.endMs[la.head]!;
    const tb = lb.endMs[lb.head]!;
    return ta < tb || (ta === tb && la.arrival[la.head]! < lb.arrival[lb.head]!);
  }

  private heapPush(h: Int32Array, n: number, w: number): number {
    let i = n;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(w, h[p]!)) break;
      h[i] = h[p]!;
      i = p;
    }
    h[i] = w;
    return n + 1;
  }

  /** Places w at the root of a heap of n entries and sifts it down. */
  private siftDown(h: Int32Array, n: number, w: number): void {
    let i = 0;
    for (;;) {
      let c = 2 * i + 1;
      if (c >= n) break;
      if (c + 1 < n && this.before(h[c + 1]!, h[c]!)) c++;
      if (!this.before(h[c]!, w)) break;
      h[i] = h[c]!;
      i = c;
    }
    h[i] = w;
  }
}
