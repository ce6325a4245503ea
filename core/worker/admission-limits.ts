// A worker's admission limits (issue 13): how many requests it holds at once, and how many of them may
// wait (for a runtime, or a slot in the batch). Written once for the live worker node and the
// simulator's worker; each driver counts what it holds and asks here.
//
//   held ≥ maxConcurrent  → refuse `overloaded`  (requests running, or admitted and waiting for KV)
//   waiting ≥ waitingMax  → refuse `queue_full`  (requests waiting for a runtime or a batch slot)
// Both are capacity refusals, not the client's fault: the gateway core may send the request elsewhere.

export interface AdmissionLimits {
  /** Requests a worker holds at once (live: running + waiting for KV; sim: unbounded unless set). */
  readonly maxConcurrent: number;
  /** Requests waiting for a runtime (live) or a slot in the batch (sim: maxQueuedSequences). */
  readonly waitingMax: number;
}

export type LimitDecision =
  | { readonly kind: 'admit' }
  | { readonly kind: 'refuse'; readonly code: 'overloaded' | 'queue_full'; readonly reason: string };

const ADMIT: LimitDecision = { kind: 'admit' };

export function validateAdmissionLimits(l: AdmissionLimits): void {
  const ok = (v: number) => v === Number.POSITIVE_INFINITY || (Number.isInteger(v) && v >= 1);
  if (!ok(l.maxConcurrent) || !ok(l.waitingMax)) throw new Error(`admission limits: maxConcurrent and waitingMax must be integers >= 1 (or unbounded), got ${l.maxConcurrent}, ${l.waitingMax}`);
}

/** A request arrives at a worker that holds `held` requests already. */
export function admitWithinLimits(held: number, l: AdmissionLimits): LimitDecision {
  if (held >= l.maxConcurrent) return { kind: 'refuse', code: 'overloaded', reason: `${held} requests held (maxConcurrent ${l.maxConcurrent})` };
  return ADMIT;
}

/** A request must wait, `waiting` requests waiting already. */
export function waitWithinLimits(waiting: number, l: AdmissionLimits): LimitDecision {
  if (waiting >= l.waitingMax) return { kind: 'refuse', code: 'queue_full', reason: `${waiting} requests waiting (waitingMax ${l.waitingMax})` };
  return ADMIT;
}
