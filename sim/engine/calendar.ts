// The event queue the loop uses: a calendar queue (Brown 1988) for the near future, a binary heap for
// the rest. Same order as EventHeap: (timeMs, phase, seq), a total order, so the order of pops does
// not depend on where an event is kept (a property test checks it against EventHeap).
//
// Why (issue 21, fifth session): 86 % of the bench's events are worker steps. Each pops the earliest
// event and pushes the worker's next step 10–25 ms later, behind most of the ~100 pending events, so in
// a binary heap it sinks ~7 levels with a coin-toss comparison at each. Here time is cut into buckets
// of BUCKET_MS; a bucket holds its few events sorted, and an event BUCKETS buckets or more ahead (a
// heartbeat, a timeout) waits in the heap. A push is an index and an insertion into ~1 sorted entry;
// a pop takes the front of the first non-empty bucket and compares it with the heap's root.
//   - bucket of t: floor(t / BUCKET_MS), exact (BUCKET_MS is a power of two);
//   - `cur` is a lower bound of every bucketed event's bucket, and every bucketed event's bucket is
//     below cur + BUCKETS, so bucket a sits at a mod BUCKETS without ambiguity;
//   - a full bucket, an event behind `cur` (after run(untilMs) stopped short of the next event), and
//     one too far ahead go to the heap: any split of the events gives the same pops.
import { PHASE_COUNT_MAX, type EventView } from './heap.js';

const SEQ_SPAN = 2 ** 44; // as in heap.ts: tie key = phase * 2^44 + seq
const BUCKET_MS = 0.25;
const PER_MS = 1 / BUCKET_MS;
/** Buckets in the ring (a power of two): 64 ms ahead at 0.25 ms. */
const BUCKETS = 256;
const MASK = BUCKETS - 1;
/** Entries per bucket; a burst at one instant beyond this goes to the heap. */
const BUCKET_CAP = 8;

export class EventCalendar {
  // The ring: bucket b's entries are (time, tie key, slot) triples at 3 × (b × BUCKET_CAP + j), sorted
  // for j in [head[b], len[b]).
  private readonly ring = new Float64Array(3 * BUCKETS * BUCKET_CAP);
  private readonly head = new Int32Array(BUCKETS);
  private readonly len = new Int32Array(BUCKETS);
  private inRing = 0;
  /** Absolute bucket index, a lower bound of every ring entry's bucket. */
  private cur = 0;
  // The heap of the other events: (time, tie key, slot) triples by position, as in heap.ts.
  private far: Float64Array;
  private farN = 0;
  // The events' other fields, by slot; slots are recycled through a free stack.
  private kind: Int32Array;
  private target: Int32Array;
  private num: Float64Array;
  private payload: unknown[];
  private free: Int32Array;
  private freeTop: number;
  private capacity: number;
  private nextSeq = 0;

  /** @param capacityMax bound on simultaneously pending events; exceeding it is a bug in the model. */
  constructor(initialCapacity = 1024, readonly capacityMax = 1 << 26) {
    const c = Math.max(16, initialCapacity);
    this.capacity = c;
    this.far = new Float64Array(3 * c);
    this.kind = new Int32Array(c);
    this.target = new Int32Array(c);
    this.num = new Float64Array(c);
    this.payload = new Array<unknown>(c);
    this.free = new Int32Array(c);
    for (let i = 0; i < c; i++) this.free[i] = c - 1 - i;
    this.freeTop = c;
  }

  get size(): number {
    return this.inRing + this.farN;
  }

  push(timeMs: number, phase: number, kind: number, target: number, num: number, payload: unknown): void {
    if (!(timeMs >= 0) || timeMs === Infinity) throw new Error(`EventCalendar.push: timeMs must be finite and >= 0, got ${timeMs}`);
    if (!(phase >= 0 && phase < PHASE_COUNT_MAX) || (phase | 0) !== phase) throw new Error(`EventCalendar.push: phase must be an integer in [0, ${PHASE_COUNT_MAX}), got ${phase}`);
    const seq = this.nextSeq++;
    if (seq >= SEQ_SPAN) throw new Error('EventCalendar.push: sequence number space exhausted');
    const tie = phase * SEQ_SPAN + seq;
    if (this.freeTop === 0) this.grow();
    const s = this.free[--this.freeTop]!;
    this.kind[s] = kind;
    this.target[s] = target;
    this.num[s] = num;
    this.payload[s] = payload;
    const a = Math.floor(timeMs * PER_MS);
    if (a >= this.cur && a - this.cur < BUCKETS && this.insertInBucket(a & MASK, timeMs, tie, s)) return;
    this.pushFar(timeMs, tie, s);
  }

  /** Time of the earliest event, or Infinity when empty. */
  peekTimeMs(): number {
    let t = Infinity;
    if (this.inRing > 0) {
      const b = this.firstBucket();
      t = this.ring[3 * (b * BUCKET_CAP + this.head[b]!)]!;
    }
    if (this.farN > 0 && this.far[0]! < t) t = this.far[0]!;
    return t;
  }

  /** Pops the earliest event into `out`. Returns false when empty. */
  popInto(out: EventView): boolean {
    let t: number;
    let tie: number;
    let s: number;
    const b = this.inRing > 0 ? this.firstBucket() : -1;
    const e = b < 0 ? -1 : 3 * (b * BUCKET_CAP + this.head[b]!);
    const R = this.ring;
    const F = this.far;
    if (e >= 0 && (this.farN === 0 || R[e]! < F[0]! || (R[e] === F[0] && R[e + 1]! < F[1]!))) {
      t = R[e]!;
      tie = R[e + 1]!;
      s = R[e + 2]!;
      this.inRing--;
      if (++this.head[b]! === this.len[b]!) {
        this.head[b] = 0;
        this.len[b] = 0;
      }
    } else if (this.farN > 0) {
      t = F[0]!;
      tie = F[1]!;
      s = F[2]!;
      this.popFar();
      const a = Math.floor(t * PER_MS);
      if (a > this.cur && this.inRing === 0) this.cur = a;
    } else return false;
    out.timeMs = t;
    out.phase = Math.floor(tie / SEQ_SPAN);
    out.seq = tie - out.phase * SEQ_SPAN;
    out.kind = this.kind[s]!;
    out.target = this.target[s]!;
    out.num = this.num[s]!;
    out.payload = this.payload[s];
    this.payload[s] = undefined;
    this.free[this.freeTop++] = s;
    return true;
  }

  /** The ring position of the first non-empty bucket (there is one: inRing > 0); moves `cur` up to it. */
  private firstBucket(): number {
    const len = this.len;
    let b = this.cur & MASK;
    while (len[b] === 0) {
      this.cur++;
      b = this.cur & MASK;
    }
    return b;
  }

  /** Inserts in bucket b's sorted entries; false when the bucket is full. */
  private insertInBucket(b: number, t: number, tie: number, s: number): boolean {
    const R = this.ring;
    const base = b * BUCKET_CAP;
    let h = this.head[b]!;
    let n = this.len[b]!;
    if (n === BUCKET_CAP) {
      if (h === 0) return false;
      R.copyWithin(3 * base, 3 * (base + h), 3 * (base + n));
      n -= h;
      h = 0;
      this.head[b] = 0;
    }
    // Insertion from the back: a worker's next step is usually the latest in its bucket.
    let j = n;
    while (j > h) {
      const pe = 3 * (base + j - 1);
      const pt = R[pe]!;
      if (pt < t || (pt === t && R[pe + 1]! < tie)) break;
      R[pe + 3] = pt;
      R[pe + 4] = R[pe + 1]!;
      R[pe + 5] = R[pe + 2]!;
      j--;
    }
    const e = 3 * (base + j);
    R[e] = t;
    R[e + 1] = tie;
    R[e + 2] = s;
    this.len[b] = n + 1;
    this.inRing++;
    return true;
  }

  private pushFar(t: number, tie: number, s: number): void {
    const H = this.far;
    let i = this.farN++;
    while (i > 0) {
      const p = (i - 1) >> 1;
      const pb = 3 * p;
      const pt = H[pb]!;
      if (pt < t || (pt === t && H[pb + 1]! < tie)) break;
      const ib = 3 * i;
      H[ib] = pt;
      H[ib + 1] = H[pb + 1]!;
      H[ib + 2] = H[pb + 2]!;
      i = p;
    }
    const ib = 3 * i;
    H[ib] = t;
    H[ib + 1] = tie;
    H[ib + 2] = s;
  }

  /** Removes the heap's root: the last entry sifts down from the root with a hole. */
  private popFar(): void {
    const n = --this.farN;
    if (n === 0) return;
    const H = this.far;
    const lb = 3 * n;
    const lt = H[lb]!;
    const lk = H[lb + 1]!;
    const ls = H[lb + 2]!;
    let i = 0;
    const half = n >> 1;
    while (i < half) {
      let c = 2 * i + 1;
      let cb = 3 * c;
      if (c + 1 < n) {
        const rb = cb + 3;
        if (H[rb]! < H[cb]! || (H[rb] === H[cb] && H[rb + 1]! < H[cb + 1]!)) {
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

  /** Every slot is in use: doubles the slots and the heap (which can hold every pending event). */
  private grow(): void {
    const old = this.capacity;
    const c = old * 2;
    if (c > this.capacityMax) throw new Error(`EventCalendar: more than ${this.capacityMax} pending events (bound exceeded: a model schedules without consuming)`);
    this.capacity = c;
    const f2 = new Float64Array(3 * c); f2.set(this.far); this.far = f2;
    const kd = new Int32Array(c); kd.set(this.kind); this.kind = kd;
    const tg = new Int32Array(c); tg.set(this.target); this.target = tg;
    const nm = new Float64Array(c); nm.set(this.num); this.num = nm;
    this.payload.length = c;
    const f = new Int32Array(c);
    for (let i = c - 1; i >= old; i--) f[this.freeTop++] = i;
    this.free = f;
  }
}
