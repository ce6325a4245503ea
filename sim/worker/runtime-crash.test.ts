// A runtime lost under its requests (core/worker/runtime-lost.ts), in the simulator: the node stays up,
// a sequence that sent no token yet is re-run once the runtime is back (within crashRetriesMax), one
// that did fails with runtime_crashed, as on a live worker node.
import { describe, expect, it } from 'vitest';
import { createLatencyModel } from '../latency/latency-model.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type WorkerConfig } from './worker.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const input = (requestId: string, promptTokens: number, outputTokens: number): SequenceInput => ({ requestId, promptTokens, outputTokens, maxTokens: outputTokens, prefixBlocks: [] });

interface Logged { kind: number; id: string; code: string | undefined; atMs: number }

/** One worker and its pending wake, driven by hand. */
function harness(config: Partial<WorkerConfig> = {}) {
  const w = new SimWorker({ id: 'w0', index: 0, latency, maxSequences: 4, maxQueuedSequences: 16, prefillStepTokens: 256, ...config });
  const out = new WorkerOutput();
  const log: Logged[] = [];
  let wakeAt = NO_WAKE;
  let nowMs = 0;
  const take = (t: number): void => {
    if (t !== NO_WAKE) wakeAt = t;
    for (let i = 0; i < out.count; i++) log.push({ kind: out.kinds[i]!, id: out.seqs[i]!.requestId, code: out.codes[i], atMs: nowMs });
    out.reset();
  };
  return {
    w, log,
    submit: (inp: SequenceInput) => take(w.submit(inp, nowMs, out)),
    crashRuntime: (restartAfterMs: number) => take(w.crashRuntime(nowMs, restartAfterMs, out)),
    /** Runs wakes until `until` holds (or nothing is pending). */
    runUntil: (until: () => boolean) => {
      for (let n = 0; n < 100_000 && !until() && wakeAt !== NO_WAKE; n++) {
        nowMs = wakeAt;
        wakeAt = NO_WAKE;
        take(w.onWake(nowMs, w.wakeId, out));
      }
    },
  };
}

const ended = (log: Logged[], id: string) => log.find((e) => e.id === id && (e.kind === WorkerEventKind.done || e.kind === WorkerEventKind.error));

describe('SimWorker.crashRuntime', () => {
  it('re-runs a sequence still in prefill, fails one that sent tokens; the node keeps queueing', () => {
    const h = harness();
    h.submit(input('a', 100, 200));
    h.runUntil(() => h.log.some((e) => e.id === 'a' && e.kind === WorkerEventKind.firstToken));
    h.submit(input('b', 3000, 5));
    h.runUntil(() => h.w.prefillingCount > 0);
    h.crashRuntime(1000);
    expect(ended(h.log, 'a')).toMatchObject({ kind: WorkerEventKind.error, code: 'runtime_crashed' });
    expect(ended(h.log, 'b')).toBeUndefined();
    expect(h.w.state).toBe('loading');
    expect(h.w.queuedCount).toBe(1);
    expect(h.w.view().kvUsedBytes).toBe(0);
    expect(h.w.stats).toMatchObject({ runtimeCrashes: 1, crashReruns: 1, crashes: 0 });
    h.submit(input('c', 10, 2)); // queued behind the re-run while the runtime restarts
    h.runUntil(() => ended(h.log, 'c') !== undefined && ended(h.log, 'b') !== undefined);
    expect(ended(h.log, 'b')!.kind).toBe(WorkerEventKind.done);
    expect(ended(h.log, 'c')!.kind).toBe(WorkerEventKind.done);
    expect(h.log.find((e) => e.id === 'b' && e.kind === WorkerEventKind.firstToken)!.atMs).toBeGreaterThan(1000 + latency.coldStartMs());
  });

  it('within crashRetriesMax: 0 fails it at once; a second loss after one re-run fails it', () => {
    const none = harness({ crashRetriesMax: 0 });
    none.submit(input('b', 3000, 5));
    none.runUntil(() => none.w.prefillingCount > 0);
    none.crashRuntime(10);
    expect(ended(none.log, 'b')).toMatchObject({ kind: WorkerEventKind.error, code: 'runtime_crashed' });

    const once = harness({ crashRetriesMax: 1 });
    once.submit(input('b', 3000, 5));
    once.runUntil(() => once.w.prefillingCount > 0);
    once.crashRuntime(10);
    expect(ended(once.log, 'b')).toBeUndefined();
    once.runUntil(() => once.w.prefillingCount > 0);
    once.crashRuntime(10);
    expect(ended(once.log, 'b')).toMatchObject({ kind: WorkerEventKind.error, code: 'runtime_crashed' });
  });

  it('does nothing to a worker that is down or cold', () => {
    const h = harness({ startWarm: false });
    h.crashRuntime(10);
    expect(h.w.state).toBe('cold');
    expect(h.w.stats.runtimeCrashes).toBe(0);
  });
});
