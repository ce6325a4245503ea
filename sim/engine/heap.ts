// The event heap of the simulator: a binary min-heap ordered by (timeMs, phase, seq).
// Why a hand-written heap over typed arrays: the benchmark pushes and pops tens of millions of events
// per run, so an event is never an object here. The heap itself is one Float64Array of (time, tie
// key, slot) triples, moved with a "hole" sift; an event's other fields (kind, target, number, payload)
// sit in a slot that does not move while the event climbs or sinks (issue 21: a sift level moves 3
// numbers instead of 6). Slots are recycled through a free stack. One array of triples rather than
// three arrays (issue 21, fourth session): every typed-array access checks its bounds and finds its
// data, so a level of the sift cost ~100 instructions with three arrays; and a node's three numbers,
// and the two children compared, share a cache line.
// Ties are ordered explicitly: at equal timeMs the lower phase runs first (phase is a small integer
// per event kind: completions before arrivals, etc.); at equal phase, insertion order (seq) decides.
// phase and seq are packed in one float64 tie key: phase * 2^44 + seq (exact below 2^53). The key is
// a total order, so the order of pops does not depend on the heap's layout.

/** Upper bound on phases; a phase is an integer in [0, PHASE_COUNT_MAX). */
export const PHASE_COUNT_MAX = 256;
const SEQ_SPAN = 2 ** 44; // seq must stay below this (1.7e13 events per run)

/** The fields of one popped event. The loop reuses one instance: read it, do not keep it. */
export interface EventView {
  timeMs: number;
  phase: number;
  seq: number;
  kind: number;
  target: number;
  num: number;
  payload: unknown;
}

export class EventHeap {
  // The heap, by position i: time at 3i, tie key at 3i + 1, slot at 3i + 2.
  private h: Float64Array;
  /** Positions the heap has room for (h.length / 3). */
  private capacity: number;
  // The events' other fields, by slot.
  private kind: Int32Array;
  private target: Int32Array;
  private num: Float64Array;
  private payload: unknown[];
  /** Free slots (a stack of freeTop entries). */
  private free: Int32Array;
  private freeTop: number;
  private n = 0;
  private nextSeq = 0;
  /** The root was read by takeRootInto and is free for the next push. */
  private rootTaken = false;

  /** @param capacityMax bound on simultaneously pending events; exceeding it is a bug in the model. */
  constructor(initialCapacity = 1024, readonly capacityMax = 1 << 26) {
    const c = Math.max(16, initialCapacity);
    this.h = new Float64Array(3 * c);
    this.capacity = c;
    this.kind = new Int32Array(c);
    this.target = new Int32Array(c);
    this.num = new Float64Array(c);
    this.payload = new Array<unknown>(c);
    this.free = new Int32Array(c);
    for (let i = 0; i < c; i++) this.free[i] = c - 1 - i;
    this.freeTop = c;
  }

  get size(): number {
    return this.rootTaken ? this.n - 1 : this.n;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTimeMs(): number {
    this.releaseRoot();
    return this.n > 0 ? this.h[0]! : Infinity;
  }

  push(timeMs: number, phase: number, kind: number, target: number, num: number, payload: unknown): void {
    if (!(timeMs >= 0) || timeMs === Infinity) throw new Error(`EventHeap.push: timeMs must be finite and >= 0, got ${timeMs}`);
    if (!(phase >= 0 && phase < PHASE_COUNT_MAX) || (phase | 0) !== phase) throw new Error(`EventHeap.push: phase must be an integer in [0, ${PHASE_COUNT_MAX}), got ${phase}`);
    const seq = this.nextSeq++;
    if (seq >= SEQ_SPAN) throw new Error('EventHeap.push: sequence number space exhausted');
    const tie = phase * SEQ_SPAN + seq;
    if (!this.rootTaken && this.n === this.capacity) this.grow();
    const s = this.free[--this.freeTop]!;
    this.kind[s] = kind;
    this.target[s] = target;
    this.num[s] = num;
    this.payload[s] = payload;
    if (this.rootTaken) {
      // The event being handled still holds the root: the first follow-up takes its place and sifts
      // down once (a pop and a push cost one sift instead of two).
      this.rootTaken = false;
      this.siftDown(this.n, timeMs, tie, s);
      return;
    }
    // Sift up with a hole: move parents down until the new key fits.
    let i = this.n++;
    const H = this.h;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pb = 3 * p;
      const pt = H[pb]!;
      if (pt < timeMs || (pt === timeMs && H[pb + 1]! < tie)) break;
      const ib = 3 * i;
      H[ib] = pt;
      H[ib + 1] = H[pb + 1]!;
      H[ib + 2] = H[pb + 2]!;
      i = p;
    }
    const ib = 3 * i;
    H[ib] = timeMs;
    H[ib + 1] = tie;
    H[ib + 2] = s;
  }

  /** Pops the earliest event into `out`. Returns false when the heap is empty. */
  popInto(out: EventView): boolean {
    if (!this.takeRootInto(out)) return false;
    this.releaseRoot();
    return true;
  }

  /**
   * Reads the earliest event into `out` and leaves its place for the next push (see push); call
   * releaseRoot() once the follow-ups are pushed. Returns false when the heap is empty.
   */
  takeRootInto(out: EventView): boolean {
    this.releaseRoot();
    if (this.n === 0) return false;
    const H = this.h;
    out.timeMs = H[0]!;
    const tie0 = H[1]!;
    out.phase = Math.floor(tie0 / SEQ_SPAN);
    out.seq = tie0 - out.phase * SEQ_SPAN;
    const s = H[2]!;
    out.kind = this.kind[s]!;
    out.target = this.target[s]!;
    out.num = this.num[s]!;
    out.payload = this.payload[s];
    this.payload[s] = undefined;
    this.free[this.freeTop++] = s;
    this.rootTaken = true;
    return true;
  }

  /** Removes the taken root if no push took its place: the last entry sifts down from the root. */
  releaseRoot(): void {
    if (!this.rootTaken) return;
    this.rootTaken = false;
    const last = --this.n;
    if (last > 0) {
      const H = this.h;
      const lb = 3 * last;
      this.siftDown(last, H[lb]!, H[lb + 1]!, H[lb + 2]!);
    }
  }

  /** Places an entry at the root of a heap of n entries (the root's place free) and sifts it down with a hole. */
  private siftDown(n: number, lt: number, lk: number, ls: number): void {
    const H = this.h;
    let i = 0;
    const half = n >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      let cb = 3 * c;
      if (c + 1 < n) {
        const rb = cb + 3;
        const rt = H[rb]!;
        const lt2 = H[cb]!;
        if (rt < lt2 || (rt === lt2 && H[rb + 1]! < H[cb + 1]!)) {
          c++;
          cb = rb;
        }
      }
      const ct = H[cb]!;
      if (lt < ct || (lt === ct && lk < H[cb + 1]!)) break;
      const ib = 3 * i;
      H[ib] = ct;
      H[ib + 1] = H[cb + 1]!;
      H[ib + 2] = H[cb + 2]!;
      i = c;
    }
    const ib = 3 * i;
    H[ib] = lt;
    H[ib + 1] = lk;
    H[ib + 2] = ls;
  }

  private grow(): void {
    const old = this.capacity;
    const c = old * 2;
    if (c > this.capacityMax) throw new Error(`EventHeap: more than ${this.capacityMax} pending events (bound exceeded: a model schedules without consuming)`);
    const h = new Float64Array(3 * c); h.set(this.h); this.h = h;
    this.capacity = c;
    const kd = new Int32Array(c); kd.set(this.kind); this.kind = kd;
    const tg = new Int32Array(c); tg.set(this.target); this.target = tg;
    const nm = new Float64Array(c); nm.set(this.num); this.num = nm;
    this.payload.length = c;
    // Every old slot is in use (the heap was full); the new ones are free.
    const f = new Int32Array(c); f.set(this.free.subarray(0, this.freeTop));
    for (let i = c - 1; i >= old; i--) f[this.freeTop++] = i;
    this.free = f;
  }
}
