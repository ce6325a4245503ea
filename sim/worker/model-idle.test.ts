// Idle unload and prewarm in the simulator (model-idle.ts), decided by core/worker/model-lifecycle.ts as
// on a live worker node: an idle worker's model unloads after idleUnloadMs (the next request pays a cold
// start), unless it is hot (kept loaded and warmed while it stays hot).
import { describe, expect, it } from 'vitest';
import { EventLoop, Phase } from '../engine/loop.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type WorkerConfig } from './worker.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const req = (id: string): SequenceInput => ({ requestId: id, promptTokens: 100, outputTokens: 5, maxTokens: 5, prefixBlocks: [] });

/** Submissions at given times; returns each request's first-token time and the worker. */
function drive(config: Partial<WorkerConfig>, subs: readonly { atMs: number; id: string }[]) {
  const worker = new SimWorker({ id: 'w0', index: 0, latency, maxSequences: 8, maxQueuedSequences: 64, ...config });
  const loop = new EventLoop({ seed: 'model-idle-test', maxSteps: 1_000_000 });
  const out = new WorkerOutput();
  const firstMs = new Map<string, number>();
  const states: string[] = [];
  const flush = (t: number): void => {
    for (let i = 0; i < out.count; i++) if (out.kinds[i] === WorkerEventKind.firstToken) firstMs.set(out.seqs[i]!.requestId, t);
    out.reset();
  };
  const wake = (t: number): void => { if (t !== NO_WAKE) loop.schedule(t, 0, 0, worker.wakeId); };
  loop.on(0, Phase.workerStep, 'wake', (e, sim) => { const t = worker.onWake(sim.nowMs, e.num, out); flush(sim.nowMs); wake(t); states.push(worker.state); });
  loop.on(2, Phase.arrival, 'submit', (e, sim) => { const t = worker.submit(req(e.payload as string), sim.nowMs, out); flush(sim.nowMs); wake(t); });
  for (const s of subs) loop.schedule(s.atMs, 2, 0, 0, s.id);
  const r = loop.run();
  return { worker, firstMs, endMs: r.endMs, states };
}

describe('SimWorker modelIdle', () => {
  it('off by default: an idle worker stays warm', () => {
    const { worker, firstMs } = drive({}, [{ atMs: 0, id: 'a' }, { atMs: 60_000, id: 'b' }]);
    expect(worker.stats).toMatchObject({ idleUnloads: 0, prewarms: 0, coldStarts: 0 });
    expect(firstMs.get('b')! - 60_000).toBeLessThan(latency.coldStartMs());
  });

  it('unloads after idleUnloadMs idle; the next request pays the model load', () => {
    const { worker, firstMs } = drive({ modelIdle: { idleUnloadMs: 10_000 } }, [{ atMs: 0, id: 'a' }, { atMs: 5_000, id: 'b' }, { atMs: 60_000, id: 'c' }]);
    expect(worker.stats.idleUnloads).toBe(2); // after b, and after c
    expect(worker.stats.coldStarts).toBe(1); // c
    expect(firstMs.get('b')! - 5_000).toBeLessThan(latency.coldStartMs()); // idle 5 s < 10 s: still loaded
    expect(firstMs.get('c')! - 60_000).toBeGreaterThan(latency.coldStartMs());
    expect(worker.state).toBe('cold');
  });

  it('a hot model is kept loaded and warmed while hot, then unloaded', () => {
    const prewarm = { windowMs: 40_000, minRequests: 2 };
    const { worker, firstMs } = drive({ modelIdle: { idleUnloadMs: 10_000, prewarm } }, [{ atMs: 0, id: 'a' }, { atMs: 1_000, id: 'b' }, { atMs: 35_000, id: 'c' }]);
    // a, b at 0 and 1 s: hot until 40 s; idle checks at ~11, 21, 31 s warm it; c at 35 s finds it loaded.
    expect(firstMs.get('c')! - 35_000).toBeLessThan(latency.coldStartMs());
    expect(worker.stats.prewarms).toBeGreaterThanOrEqual(3);
    expect(worker.stats.coldStarts).toBe(0);
    expect(worker.stats.idleUnloads).toBe(1); // once b and c are 40 s apart, it is no longer hot
    expect(worker.state).toBe('cold');
  });
});
