// One model's gateway queue, fair between tenants (issue 19): start-time fair queueing (Goyal, Vin and
// Cheng 1996, "Start-time Fair Queueing"). Each tenant is a flow with its own FIFO; a request pushed
// to flow f is tagged start = max(V, f.lastFinish), finish = start + 1 / weight_f (one request is the
// unit of work), and the queue serves the smallest start tag (ties: the earlier push). V is the start
// tag of the last request served. A tenant that sends a burst queues behind itself: another tenant's
// request, tagged at V, goes ahead of all but the burst's first few, so one tenant's burst cannot
// starve another, and backlogged tenants share dispatches in proportion to their weights. An idle
// tenant earns no credit (its next start is at least V).
// With one flow (fairness off, or every request of one tenant) the order is plain FIFO.
// The caller may leave ids of requests that left another way in the queue and skip them when they
// reach the head (as with a Fifo: peek, check, shift). Flows are kept once seen: their number is the
// number of tenants, which the gateway's configuration bounds (an unknown tenant is the default one).
import { Fifo } from '../util/fifo.js';

interface Tagged<T> {
  readonly item: T;
  readonly start: number;
  readonly seq: number;
}

interface Flow<T> {
  readonly fifo: Fifo<Tagged<T>>;
  lastFinish: number;
}

export class FairQueue<T> {
  private readonly flows = new Map<string, Flow<T>>();
  private virtualTime = 0;
  private seq = 0;
  private count = 0;
  /** The flow `head()` found, valid until the next push or shift (dispatch peeks, then shifts). */
  private headFlow: Flow<T> | undefined;
  private headValid = false;

  get size(): number {
    return this.count;
  }

  /** Appends `item` to `flow`'s FIFO; weight > 0 (the flow's share of dispatches relative to the others). */
  push(item: T, flow: string, weight: number): void {
    let f = this.flows.get(flow);
    if (f === undefined) this.flows.set(flow, (f = { fifo: new Fifo(), lastFinish: 0 }));
    const start = Math.max(this.virtualTime, f.lastFinish);
    f.lastFinish = start + 1 / weight;
    f.fifo.push({ item, start, seq: this.seq++ });
    this.count++;
    this.headValid = false;
  }

  /** The next item to serve (smallest start tag), or undefined when empty. */
  peek(): T | undefined {
    return this.head()?.fifo.peek()!.item;
  }

  /** Removes and returns the item `peek` returned. */
  shift(): T | undefined {
    const f = this.head();
    if (f === undefined) return undefined;
    const t = f.fifo.shift()!;
    this.count--;
    this.headValid = false;
    this.virtualTime = t.start;
    return t.item;
  }

  private head(): Flow<T> | undefined {
    if (this.headValid) return this.headFlow;
    let best: Flow<T> | undefined;
    let bestTag: Tagged<T> | undefined;
    for (const f of this.flows.values()) {
      const t = f.fifo.peek();
      if (t === undefined) continue;
      if (bestTag === undefined || t.start < bestTag.start || (t.start === bestTag.start && t.seq < bestTag.seq)) {
        best = f;
        bestTag = t;
      }
    }
    this.headFlow = best;
    this.headValid = true;
    return best;
  }
}
