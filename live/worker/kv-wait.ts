// The worker node's KV wait (issue 15; out of worker-node.ts in issue 13): a request the governor
// cannot give KV to now, though it would fit in an empty node, waits here, first come first served,
// until running requests free enough (admitAll: a request ended, the capacity changed), kvWaitMs or its
// deadline (then `kv_capacity`, or `deadline_exceeded`). Whether it waits or is refused is core's
// decision (core/worker/kv-reservation.ts, onKvShortfall); this is the queue and its timers.
import { waitWithinDeadline, type MemoryGovernor } from '../../core/index.js';
import type { GenerateRequestMsg } from '../shared/proto.js';
import { WorkerError } from './errors.js';

/** A started request, or one still waiting: cancel() ends it without an event. */
export interface JobHandle {
  cancel(): void;
}

export interface KvWaiter {
  readonly key: string;
  readonly req: GenerateRequestMsg;
  readonly modelId: string;
  readonly sessionKey: string | undefined;
  readonly kvBytes: number;
  /** Ends it with an Error event (it is no longer queued). */
  readonly refused: (e: WorkerError) => JobHandle;
  /** Runs it, its KV reserved (reusedTokens: the governor's prefix reuse). */
  readonly start: (reusedTokens: number) => JobHandle;
}

export interface KvWaitDeps {
  readonly governor: MemoryGovernor;
  readonly kvWaitMs: number;
  readonly kvCapacityBytes: () => number;
  readonly nowMs: () => number;
  readonly wallMs: () => number;
  readonly counters: { kvWaits: number; kvWaitAdmitted: number; deadlineExceeded: number; cancelled: number };
  /** A waiter left without starting (the node may have drained). */
  readonly onLeft: () => void;
}

interface Entry {
  readonly w: KvWaiter;
  timer: NodeJS.Timeout | undefined;
  /** The job it became once admitted. */
  job: JobHandle | undefined;
}

export class KvWaitQueue {
  private readonly entries = new Map<string, Entry>();
  private admitting = false;

  constructor(private readonly d: KvWaitDeps) {}

  get size(): number {
    return this.entries.size;
  }

  /** Some waiter is for this model. */
  holds(modelId: string): boolean {
    for (const e of this.entries.values()) if (e.w.modelId === modelId) return true;
    return false;
  }

  /** Parks a request until the governor can reserve its KV (admitAll), kvWaitMs or its deadline. */
  wait(w: KvWaiter): JobHandle {
    const d = this.d;
    d.counters.kvWaits++;
    const e: Entry = { w, timer: undefined, job: undefined };
    this.entries.set(w.key, e);
    const { waitMs, byDeadline } = waitWithinDeadline(d.kvWaitMs, w.req.deadlineUnixMs, d.wallMs());
    e.timer = setTimeout(() => {
      e.timer = undefined;
      if (!this.entries.delete(w.key)) return;
      if (byDeadline) {
        d.counters.deadlineExceeded++;
        w.refused(new WorkerError('deadline_exceeded', `request ${w.req.requestId} passed its deadline while waiting for KV memory`));
      } else {
        w.refused(new WorkerError('kv_capacity', `request needs ~${w.kvBytes} KV bytes; none freed within kvWaitMs (${d.kvWaitMs} ms); ${Math.max(0, d.governor.freeBytes())} of ${d.kvCapacityBytes()} free`));
      }
      d.onLeft();
    }, waitMs);
    return {
      cancel: () => {
        if (e.job !== undefined) {
          e.job.cancel();
          return;
        }
        if (!this.drop(w.key)) return;
        d.counters.cancelled++;
        d.onLeft();
      },
    };
  }

  /** KV was freed: admit waiters in arrival order while they fit; refuse one that no longer fits even an empty node. */
  admitAll(): void {
    if (this.admitting || this.entries.size === 0) return;
    const d = this.d;
    this.admitting = true;
    try {
      for (const e of [...this.entries.values()]) {
        const w = e.w;
        if (!this.entries.has(w.key)) continue;
        if (d.governor.aloneBytes(w.kvBytes) > d.kvCapacityBytes()) {
          this.drop(w.key);
          w.refused(new WorkerError('kv_exceeds_capacity', `request needs ~${d.governor.aloneBytes(w.kvBytes)} KV bytes: more than the node's capacity (${d.kvCapacityBytes()})`));
          continue;
        }
        const a = d.governor.admit(w.key, w.sessionKey, w.kvBytes, d.nowMs(), w.modelId);
        if (!a.ok) break;
        this.drop(w.key);
        d.counters.kvWaitAdmitted++;
        e.job = w.start(a.reusedTokens);
      }
    } finally {
      this.admitting = false;
    }
  }

  /** Refuses every waiter that `which` names (an unloaded model's, or all when the node stops). */
  refuseWhere(which: (w: KvWaiter) => boolean, error: () => WorkerError): void {
    for (const e of [...this.entries.values()]) {
      if (!which(e.w)) continue;
      this.drop(e.w.key);
      e.w.refused(error());
    }
  }

  private drop(key: string): boolean {
    const e = this.entries.get(key);
    if (e === undefined) return false;
    this.entries.delete(key);
    if (e.timer !== undefined) clearTimeout(e.timer);
    e.timer = undefined;
    return true;
  }
}
