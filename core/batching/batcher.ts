// The batching interface. Requests wait in a per-model queue until a batch is due; the gateway core
// then routes each request and sends one dispatch per worker. Workers batch continuously on their
// own; the gateway's batch amortises per-message cost (one gRPC message for many requests) and lets
// requests arriving together join the same prefill step.
import type { InferenceRequest } from '../types.js';

export interface Batcher {
  readonly name: string;
  add(req: InferenceRequest, nowMs: number): void;
  /** Removes a waiting request (client went away). */
  remove(requestId: string): boolean;
  /** Batches due at nowMs, each for one model. */
  takeDue(nowMs: number): InferenceRequest[][];
  /** Everything waiting for `model`, due or not, in batches of at most the model's batch size. */
  takeModel(model: string): InferenceRequest[][];
  /** The earliest time a batch becomes due, if any request waits. */
  nextDueMs(): number | undefined;
  waiting(): number;
  /** Feedback: a dispatched batch's requests took this long per request (adaptive sizing). */
  observeServiceMs?(model: string, perRequestMs: number): void;
}

export interface BatchLimits {
  readonly maxBatchSize: number;
  readonly windowMs: number;
}

/** takeModel's answer when nothing waits (most calls): one shared empty list, read only. */
const NOTHING: InferenceRequest[][] = [];
Object.freeze(NOTHING);

interface Queue {
  readonly items: InferenceRequest[];
  /** Arrival time of each waiting request (parallel to items): the window runs from the oldest. */
  readonly arrivedAtMs: number[];
}

/**
 * A per-model FIFO that releases a batch when it holds `maxBatchSize` requests or its oldest request
 * has waited `windowMs`. Sizing comes from `limitsFor`, which differs between the micro and adaptive
 * batchers.
 */
export abstract class WindowBatcher implements Batcher {
  abstract readonly name: string;
  private readonly queues = new Map<string, Queue>();
  private count = 0;

  protected abstract limitsFor(model: string, depth: number): BatchLimits;

  add(req: InferenceRequest, nowMs: number): void {
    let q = this.queues.get(req.model);
    if (q === undefined) {
      q = { items: [], arrivedAtMs: [] };
      this.queues.set(req.model, q);
    }
    q.items.push(req);
    q.arrivedAtMs.push(nowMs);
    this.count++;
  }

  remove(requestId: string): boolean {
    for (const q of this.queues.values()) {
      const i = q.items.findIndex((r) => r.id === requestId);
      if (i >= 0) {
        q.items.splice(i, 1);
        q.arrivedAtMs.splice(i, 1);
        this.count--;
        return true;
      }
    }
    return false;
  }

  takeDue(nowMs: number): InferenceRequest[][] {
    const out: InferenceRequest[][] = [];
    for (const [model, q] of this.queues) {
      while (q.items.length > 0) {
        const lim = this.limitsFor(model, q.items.length);
        const full = q.items.length >= lim.maxBatchSize;
        if (!full && nowMs < q.arrivedAtMs[0]! + lim.windowMs) break;
        const batch = q.items.splice(0, lim.maxBatchSize);
        q.arrivedAtMs.splice(0, batch.length);
        this.count -= batch.length;
        out.push(batch);
      }
    }
    return out;
  }

  takeModel(model: string): InferenceRequest[][] {
    const q = this.queues.get(model);
    if (q === undefined || q.items.length === 0) return NOTHING;
    const out: InferenceRequest[][] = [];
    while (q.items.length > 0) {
      const batch = q.items.splice(0, this.limitsFor(model, q.items.length).maxBatchSize);
      q.arrivedAtMs.splice(0, batch.length);
      this.count -= batch.length;
      out.push(batch);
    }
    return out;
  }

  nextDueMs(): number | undefined {
    let due: number | undefined;
    for (const [model, q] of this.queues) {
      if (q.items.length === 0) continue;
      const t = q.arrivedAtMs[0]! + this.limitsFor(model, q.items.length).windowMs;
      if (due === undefined || t < due) due = t;
    }
    return due;
  }

  waiting(): number {
    return this.count;
  }
}
