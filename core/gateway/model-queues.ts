// The gateway's per-model queues: requests no worker could take yet, per model fair between tenants
// (fair-queue.ts; first come first served with one tenant or fairness off), and how fast each model's requests finish (its drain rate), from which the wait of a
// request joining a queue is predicted (early refusal, Retry-After hints).
//
// An id leaves its FIFO lazily: a request that left the queue another way (cancelled, timed out) is
// uncounted at once (`left`) and its id skipped when it reaches the head (the caller checks).
import { DrainRate } from '../admission/drain-rate.js';
import type { RequestId } from '../types.js';
import { Fifo } from '../util/fifo.js';
import { FairQueue } from './fair-queue.js';

/** What dispatch needs of a model's queue: a Fifo (fairness off) or a FairQueue. */
export interface ModelQueue {
  readonly size: number;
  peek(): RequestId | undefined;
  shift(): RequestId | undefined;
}

/** The drain-rate window (admission.earlyRefusalFactor): 10 buckets of 1 s, known after 5 completions. */
const DRAIN_BUCKET_MS = 1000;
const DRAIN_BUCKETS = 10;
const DRAIN_SAMPLES_MIN = 5;

export class ModelQueues {
  private readonly fifos = new Map<string, Fifo<RequestId> | FairQueue<RequestId>>();
  private readonly countByModel = new Map<string, number>();
  private readonly drainRates = new Map<string, DrainRate>();
  /** Requests queued now, all models (ids of requests that left are not counted). */
  count = 0;

  /** fair: one FairQueue per model (fairness between tenants); else one FIFO per model. */
  constructor(private readonly fair = false) {}

  /** Queues `id`; `tenant` and its `weight` as the fairness configuration says ('' and 1 with fairness off). */
  push(model: string, id: RequestId, tenant = '', weight = 1): void {
    let q = this.fifos.get(model);
    if (q === undefined) this.fifos.set(model, (q = this.fair ? new FairQueue() : new Fifo()));
    if (q instanceof FairQueue) q.push(id, tenant, weight);
    else q.push(id);
    this.count++;
    this.countByModel.set(model, (this.countByModel.get(model) ?? 0) + 1);
  }

  /** A queued request of `model` left the queue (dispatched from its head, or left another way). */
  left(model: string): void {
    this.count--;
    this.countByModel.set(model, this.countByModel.get(model)! - 1);
  }

  /** Each model's queue (dispatch walks them: peek, shift). */
  fifosOfAllModels(): IterableIterator<ModelQueue> {
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
