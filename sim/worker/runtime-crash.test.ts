// A runtime lost under its requests (core/worker/runtime-lost.ts), in the simulator: the node stays up,
// a sequence that sent no token yet ends with runtime_lost (the gateway core retries it), one that did
// fails with runtime_crashed, as on a live worker node; queued sequences wait for the runtime.
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
  it('reports a sequence still in prefill as runtime_lost, fails one that sent tokens; the node keeps queueing', () => {
    const h = harness();
    h.submit(input('a', 100, 200));
    h.runUntil(() => h.log.some((e) => e.id === 'a' && e.kind === WorkerEventKind.firstToken));
    h.submit(input('b', 3000, 5));
    h.runUntil(() => h.w.prefillingCount > 0);
    h.submit(input('q', 3000, 5)); // may be admitted or queued: either way it is not lost if queued
    h.crashRuntime(1000);
    expect(ended(h.log, 'a')).toMatchObject({ kind: WorkerEventKind.error, code: 'runtime_crashed' });
    expect(ended(h.log, 'b')).toMatchObject({ kind: WorkerEventKind.error, code: 'runtime_lost' });
    expect(h.w.state).toBe('loading');
    expect(h.w.view().kvUsedBytes).toBe(0);
    expect(h.w.runningCount).toBe(0);
    const lost = h.log.filter((e) => e.code === 'runtime_lost').length;
    expect(h.w.stats).toMatchObject({ runtimeCrashes: 1, runtimeLost: lost, crashes: 0 });
    h.submit(input('c', 10, 2)); // queued while the runtime restarts
    h.runUntil(() => ended(h.log, 'c') !== undefined);
    expect(ended(h.log, 'c')!.kind).toBe(WorkerEventKind.done);
    expect(h.log.find((e) => e.id === 'c' && e.kind === WorkerEventKind.firstToken)!.atMs).toBeGreaterThan(1000 + latency.coldStartMs());
  });

  it('does nothing to a worker that is down or cold', () => {
    const h = harness({ startWarm: false });
    h.crashRuntime(10);
    expect(h.w.state).toBe('cold');
    expect(h.w.stats.runtimeCrashes).toBe(0);
  });
});
