// The event heap of the simulator: a binary min-heap ordered by (timeMs, phase, seq).
// Why a hand-written heap over parallel typed arrays: the benchmark pushes and pops tens of millions
// of events per run, so an event is never an object here. Each entry is six slots in six parallel
// arrays (time, tie key, kind, target, number, payload) and the heap moves them with a "hole" sift.
// Ties are ordered explicitly: at equal timeMs the lower phase runs first (phase is a small integer
// per event kind: completions before arrivals, etc.); at equal phase, insertion order (seq) decides.
// phase and seq are packed in one float64 tie key: phase * 2^44 + seq (exact below 2^53).

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
  private timeMs: Float64Array;
  private tie: Float64Array;
  private kind: Int32Array;
  private target: Int32Array;
  private num: Float64Array;
  private payload: unknown[];
  private n = 0;
  private nextSeq = 0;
  /** The root was read by takeRootInto and is free for the next push. */
  private rootTaken = false;

  /** @param capacityMax bound on simultaneously pending events; exceeding it is a bug in the model. */
  constructor(initialCapacity = 1024, readonly capacityMax = 1 << 26) {
    const c = Math.max(16, initialCapacity);
    this.timeMs = new Float64Array(c);
    this.tie = new Float64Array(c);
    this.kind = new Int32Array(c);
    this.target = new Int32Array(c);
    this.num = new Float64Array(c);
    this.payload = new Array<unknown>(c);
  }

  get size(): number {
    return this.rootTaken ? this.n - 1 : this.n;
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTimeMs(): number {
    this.releaseRoot();
    return this.n > 0 ? this.timeMs[0]! : Infinity;
  }

  push(timeMs: number, phase: number, kind: number, target: number, num: number, payload: unknown): void {
    if (!(timeMs >= 0) || timeMs === Infinity) throw new Error(`EventHeap.push: timeMs must be finite and >= 0, got ${timeMs}`);
    if (!(phase >= 0 && phase < PHASE_COUNT_MAX) || (phase | 0) !== phase) throw new Error(`EventHeap.push: phase must be an integer in [0, ${PHASE_COUNT_MAX}), got ${phase}`);
    const seq = this.nextSeq++;
    if (seq >= SEQ_SPAN) throw new Error('EventHeap.push: sequence number space exhausted');
    const tie = phase * SEQ_SPAN + seq;
    if (this.rootTaken) {
      // The event being handled still holds the root: the first follow-up takes its place and sifts
      // down once (a pop and a push cost one sift instead of two).
      this.rootTaken = false;
      this.siftDown(this.n, timeMs, tie, kind, target, num, payload);
      return;
    }
    if (this.n === this.timeMs.length) this.grow();
    // Sift up with a hole: move parents down until the new key fits.
    let i = this.n++;
    const T = this.timeMs;
    const K = this.tie;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pt = T[p]!;
      if (pt < timeMs || (pt === timeMs && K[p]! < tie)) break;
      this.move(p, i);
      i = p;
    }
    T[i] = timeMs;
    K[i] = tie;
    this.kind[i] = kind;
    this.target[i] = target;
    this.num[i] = num;
    this.payload[i] = payload;
  }

  /** Pops the earliest event into `out`. Returns false when the heap is empty. */
  popInto(out: EventView): boolean {
    if (!this.takeRootInto(out)) return false;
    this.releaseRoot();
    return true;
  }

  /**
   * Reads the earliest event into `out` and leaves its slot for the next push (see push); call
   * releaseRoot() once the follow-ups are pushed. The order of pops is that of popInto: it is fixed by
   * (timeMs, phase, seq), whatever the heap's layout. Returns false when the heap is empty.
   */
  takeRootInto(out: EventView): boolean {
    this.releaseRoot();
    if (this.n === 0) return false;
    out.timeMs = this.timeMs[0]!;
    const tie0 = this.tie[0]!;
    out.phase = Math.floor(tie0 / SEQ_SPAN);
    out.seq = tie0 - out.phase * SEQ_SPAN;
    out.kind = this.kind[0]!;
    out.target = this.target[0]!;
    out.num = this.num[0]!;
    out.payload = this.payload[0];
    this.rootTaken = true;
    return true;
  }

  /** Removes the taken root if no push took its slot: the last entry sifts down from the root. */
  releaseRoot(): void {
    if (!this.rootTaken) return;
    this.rootTaken = false;
    const last = --this.n;
    if (last === 0) {
      this.payload[0] = undefined;
      return;
    }
    const lpayload = this.payload[last];
    this.payload[last] = undefined;
    this.siftDown(last, this.timeMs[last]!, this.tie[last]!, this.kind[last]!, this.target[last]!, this.num[last]!, lpayload);
  }

  /** Places an entry at the root of a heap of n entries (the root's slot free) and sifts it down with a hole. */
  private siftDown(n: number, lt: number, lk: number, lkind: number, ltarget: number, lnum: number, lpayload: unknown): void {
    const T = this.timeMs;
    const K = this.tie;
    let i = 0;
    const half = n >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      const r = c + 1;
      if (r < n && (T[r]! < T[c]! || (T[r] === T[c] && K[r]! < K[c]!))) c = r;
      const ct = T[c]!;
      if (lt < ct || (lt === ct && lk < K[c]!)) break;
      this.move(c, i);
      i = c;
    }
    T[i] = lt;
    K[i] = lk;
    this.kind[i] = lkind;
    this.target[i] = ltarget;
    this.num[i] = lnum;
    this.payload[i] = lpayload;
  }

  private move(from: number, to: number): void {
    this.timeMs[to] = this.timeMs[from]!;
    this.tie[to] = this.tie[from]!;
    this.kind[to] = this.kind[from]!;
    this.target[to] = this.target[from]!;
    this.num[to] = this.num[from]!;
    this.payload[to] = this.payload[from];
  }

  private grow(): void {
    const c = this.timeMs.length * 2;
    if (c > this.capacityMax) throw new Error(`EventHeap: more than ${this.capacityMax} pending events (bound exceeded: a model schedules without consuming)`);
    const t = new Float64Array(c); t.set(this.timeMs); this.timeMs = t;
    const k = new Float64Array(c); k.set(this.tie); this.tie = k;
    const kd = new Int32Array(c); kd.set(this.kind); this.kind = kd;
    const tg = new Int32Array(c); tg.set(this.target); this.target = tg;
    const nm = new Float64Array(c); nm.set(this.num); this.num = nm;
    this.payload.length = c;
  }
}
