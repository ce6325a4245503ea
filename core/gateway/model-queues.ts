// The gateway's per-model queues: requests no worker could take yet, first come first served per
// model, and how fast each model's requests finish (its drain rate), from which the wait of a
// request joining a queue is predicted (early refusal, Retry-After hints).
//
// An id leaves its FIFO lazily: a request that left the queue another way (cancelled, timed out) is
// uncounted at once (`left`) and its id skipped when it reaches the head (the caller checks).
import { DrainRate } from '../admission/drain-rate.js';
import type { RequestId } from '../types.js';
import { Fifo } from '../util/fifo.js';

/** The drain-rate window (admission.earlyRefusalFactor): 10 buckets of 1 s, known after 5 completions. */
const DRAIN_BUCKET_MS = 1000;
const DRAIN_BUCKETS = 10;
const DRAIN_SAMPLES_MIN = 5;

export class ModelQueues {
  private readonly fifos = new Map<string, Fifo<RequestId>>();
  private readonly countByModel = new Map<string, number>();
  private readonly drainRates = new Map<string, DrainRate>();
  /** Requests queued now, all models (ids of requests that left are not counted). */
  count = 0;

  push(model: string, id: RequestId): void {
    let q = this.fifos.get(model);
    if (q === undefined) this.fifos.set(model, (q = new Fifo()));
    q.push(id);
    this.count++;
    this.countByModel.set(model, (this.countByModel.get(model) ?? 0) + 1);
  }

  /** A queued request of `model` left the queue (dispatched from its head, or left another way). */
  left(model: string): void {
    this.count--;
    this.countByModel.set(model, this.countByModel.get(model)! - 1);
  }

  /** Each model's FIFO (dispatch walks them: peek, shift). */
  fifosOfAllModels(): IterableIterator<Fifo<RequestId>> {
    return this.fifos.values();
  }

  /** A request of `model` finished on a worker. */
  recordCompletion(model: string, nowMs: number): void {
    let r = this.drainRates.get(model);
    if (r === undefined) this.drainRates.set(model, (r = new DrainRate(DRAIN_BUCKET_MS, DRAIN_BUCKETS, DRAIN_SAMPLES_MIN)));
    r.record(nowMs);
  }

  /** Requests of `model` queued now. */
  countOf(model: string): number {
    return this.countByModel.get(model) ?? 0;
  }

  /** `model`'s completions per second over the drain-rate window; undefined while unknown. */
  drainPerSecond(model: string, nowMs: number): number | undefined {
    return this.drainRates.get(model)?.perSecond(nowMs);
  }

  /** How long a request joining `model`'s queue now would wait, from its drain rate; undefined when unknown. */
  predictedWaitMs(model: string, nowMs: number): number | undefined {
    const perS = this.drainRates.get(model)?.perSecond(nowMs);
    if (perS === undefined || perS <= 0) return undefined;
    return (((this.countByModel.get(model) ?? 0) + 1) / perS) * 1000;
  }
}
