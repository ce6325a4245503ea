// The worker model driven by the event loop: timing of one sequence, continuous batching, cold start,
// prompt cache, memory admission, crash/restart, slow-down, error injection, bounds, network delay.
import { describe, expect, it } from 'vitest';
import { EventLoop, Phase } from '../engine/loop.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { deriveRng } from '../rng/rng.js';
import { CapacityAdmission } from './memory.js';
import { NetworkModel } from './network.js';
import { validateFaultPlan } from './faults.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type WorkerConfig } from './worker.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });
const KIND_NAME = { 1: 'first', 2: 'tokens', 3: 'done', 4: 'error' } as const;

interface Logged { t: number; kind: string; id: string; code?: string }

/** A minimal driver: submissions and crashes at given times, wakes scheduled as the worker asks. */
function drive(config: Partial<WorkerConfig>, subs: { atMs: number; input: SequenceInput }[], crashes: { atMs: number; restartAfterMs: number }[] = []): { log: Logged[]; worker: SimWorker } {
  const worker = new SimWorker({ id: 'w0', index: 0, latency, maxSequences: 8, maxQueuedSequences: 64, ...config });
  const loop = new EventLoop({ seed: 'worker-test', maxSteps: 1_000_000 });
  const out = new WorkerOutput();
  const log: Logged[] = [];
  const flush = (t: number): void => {
    for (let i = 0; i < out.count; i++) log.push({ t, kind: KIND_NAME[out.kinds[i]!], id: out.seqs[i]!.requestId, ...(out.codes[i] ? { code: out.codes[i] } : {}) });
    out.reset();
  };
  const wake = (t: number): void => { if (t !== NO_WAKE) loop.schedule(t, 0, 0, worker.wakeId); };
  loop.on(0, Phase.workerStep, 'wake', (e, sim) => { const t = worker.onWake(sim.nowMs, e.num, out); flush(sim.nowMs); wake(t); });
  loop.on(1, Phase.fault, 'crash', (e, sim) => { const t = worker.crash(sim.nowMs, e.num, out); flush(sim.nowMs); wake(t); });
  loop.on(2, Phase.arrival, 'submit', (e, sim) => { const t = worker.submit(e.payload as SequenceInput, sim.nowMs, out); flush(sim.nowMs); wake(t); });
  for (const s of subs) loop.schedule(s.atMs, 2, 0, 0, s.input);
  for (const c of crashes) loop.schedule(c.atMs, 1, 0, c.restartAfterMs);
  loop.run();
  return { log, worker };
}

const req = (id: string, promptTokens: number, outputTokens: number, extra: Partial<SequenceInput> = {}): SequenceInput => ({ requestId: id, promptTokens, outputTokens, maxTokens: outputTokens, prefixBlocks: [], ...extra });

describe('SimWorker', () => {
  it('one sequence: first token after prefill + overhead + one decode step, then one token per step', () => {
    const { log, worker } = drive({}, [{ atMs: 0, input: req('a', 1000, 3) }]);
    const t1 = latency.prefillMs(1000, 0) + latency.requestOverheadMs + latency.decodeStepMs(1, 1000);
    const t2 = t1 + latency.decodeStepMs(1, 1001);
    const t3 = t2 + latency.decodeStepMs(1, 1002);
    expect(log.map((l) => l.kind)).toEqual(['first', 'done']);
    expect(log[0]!.t).toBeCloseTo(t1, 9);
    expect(log[1]!.t).toBeCloseTo(t3, 9);
    expect(worker.stats.outputTokens).toBe(3);
    expect(worker.stats.busyMs).toBeCloseTo(t3, 9);
    expect(worker.state).toBe('idle');
  });

  it('continuous batching: a later sequence joins between steps and finishes independently', () => {
    const { log, worker } = drive({}, [{ atMs: 0, input: req('a', 100, 50) }, { atMs: 30, input: req('b', 100, 5) }]);
    const order = log.map((l) => `${l.kind}:${l.id}`);
    expect(order).toEqual(['first:a', 'first:b', 'done:b', 'done:a']);
    expect(worker.stats.timeByBatchMs[2]).toBeGreaterThan(0);
    expect(worker.stats.outputTokens).toBe(55);
  });

  it('respects maxSequences: the third waits for a slot (queue time recorded)', () => {
    const { log } = drive({ maxSequences: 2 }, [0, 0, 0].map((_, i) => ({ atMs: 0, input: req(`r${i}`, 100, 10) })));
    expect(log.filter((l) => l.kind === 'done').map((l) => l.id)).toEqual(['r0', 'r1', 'r2']);
    const firstR2 = log.find((l) => l.kind === 'first' && l.id === 'r2')!.t;
    expect(firstR2).toBeGreaterThan(log.find((l) => l.kind === 'done' && l.id === 'r0')!.t - 1e-9);
  });

  it('cold start: the first request pays the model load time', () => {
    const warm = drive({}, [{ atMs: 0, input: req('a', 100, 1) }]).log[0]!.t;
    const { log, worker } = drive({ startWarm: false }, [{ atMs: 0, input: req('a', 100, 1) }, { atMs: 10_000, input: req('b', 100, 1) }]);
    expect(log[0]!.t).toBeCloseTo(warm + latency.coldStartMs(), 6);
    expect(log[2]!.t - 10_000).toBeCloseTo(warm, 6);
    expect(worker.stats.coldStarts).toBe(1);
  });

  it('prompt cache: a session\'s next turn skips its cached prefix (LRU bounded)', () => {
    const first = req('t1', 640, 64, { sessionId: 's', prefixBlocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    const second = req('t2', 640 + 64 + 200, 10, { sessionId: 's', prefixBlocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] });
    const { worker } = drive({}, [{ atMs: 0, input: first }, { atMs: 5000, input: second }]);
    expect(worker.prefixCache.hits).toBe(1);
    expect(worker.prefixCache.tokensSaved).toBe(640 + 64);
    const noCache = drive({ prefixCacheSessions: 0 }, [{ atMs: 0, input: first }, { atMs: 5000, input: second }]);
    expect(noCache.worker.prefixCache.hits).toBe(0);
    expect(noCache.worker.stats.busyMs).toBeGreaterThan(worker.stats.busyMs);
  });

  it('prompt cache: a calibrated answerReuse keeps only that share of the previous answer for the next turn', () => {
    const first = req('t1', 640, 64, { sessionId: 's', prefixBlocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10] });
    const second = req('t2', 640 + 64 + 200, 10, { sessionId: 's', prefixBlocks: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14] });
    const withReuse = (r: number) => Object.create(latency, { answerReuse: { value: r } }) as typeof latency;
    const saved = (r: number) => drive({ latency: withReuse(r) }, [{ atMs: 0, input: first }, { atMs: 5000, input: second }]).worker.prefixCache.tokensSaved;
    expect(saved(0)).toBe(640); // the answer did not re-tokenize as generated: only the first prompt is reused
    expect(saved(0.5)).toBe(640 + 32);
    expect(saved(1)).toBe(640 + 64);
  });

  it('memory admission: sequences wait while KV capacity is taken', () => {
    const kv = (100 + 10) * latency.kvBytesPerToken;
    const { log } = drive({ memory: new CapacityAdmission(kv * 1.5) }, [{ atMs: 0, input: req('a', 100, 10) }, { atMs: 0, input: req('b', 100, 10) }]);
    const firstB = log.find((l) => l.kind === 'first' && l.id === 'b')!.t;
    const doneA = log.find((l) => l.kind === 'done' && l.id === 'a')!.t;
    expect(firstB).toBeGreaterThan(doneA);
  });

  it('rejects requests that can never fit, and beyond the queue bound', () => {
    const { log } = drive({ memory: new CapacityAdmission(1000 * latency.kvBytesPerToken), maxQueuedSequences: 1, maxSequences: 1 }, [
      { atMs: 0, input: req('big', 2000, 10) },
      { atMs: 0, input: req('ok1', 10, 10) },
      { atMs: 0, input: req('ok2', 10, 10) },
      { atMs: 0, input: req('over', 10, 10) },
      { atMs: 0, input: req('long', 200_000, 10) },
    ]);
    const errs = log.filter((l) => l.kind === 'error').map((l) => `${l.id}:${l.code}`);
    expect(errs).toEqual(['big:kv_exceeds_capacity', 'over:queue_full', 'long:context_length_exceeded']);
  });

  it('refuses overloaded beyond maxConcurrent held (queued + running), core\'s admission limits as on a live node', () => {
    const { log } = drive({ maxSequences: 1, maxConcurrent: 2 }, [
      { atMs: 0, input: req('a', 10, 10) },
      { atMs: 0, input: req('b', 10, 10) },
      { atMs: 0, input: req('c', 10, 10) },
    ]);
    expect(log.filter((l) => l.kind === 'error').map((l) => `${l.id}:${l.code}`)).toEqual(['c:overloaded']);
    expect(log.filter((l) => l.kind === 'done').map((l) => l.id)).toEqual(['a', 'b']);
    expect(() => drive({ maxConcurrent: 0 }, [])).toThrow(/admission limits/);
  });

  it('crash: in-flight sequences fail, submissions while down fail, restart is cold', () => {
    const { log, worker } = drive({}, [
      { atMs: 0, input: req('a', 100, 1000) },
      { atMs: 1500, input: req('down', 100, 5) },
      { atMs: 5000, input: req('after', 100, 1) },
    ], [{ atMs: 1000, restartAfterMs: 2000 }]);
    expect(log.filter((l) => l.kind === 'error').map((l) => `${l.id}:${l.code}@${l.t}`)).toEqual(['a:worker_crashed@1000', 'down:worker_down@1500']);
    const after = log.find((l) => l.id === 'after' && l.kind === 'first')!;
    expect(after.t - 5000).toBeGreaterThan(latency.coldStartMs());
    expect(worker.stats.crashes).toBe(1);
    expect(worker.view().kvUsedBytes).toBe(0);
  });

  it('slow-down multiplies step time inside its window only', () => {
    const base = drive({}, [{ atMs: 0, input: req('a', 100, 1) }]).log[0]!.t;
    const slow = drive({ slowdowns: [{ startMs: 0, endMs: 1000, factor: 3 }] }, [{ atMs: 0, input: req('a', 100, 1) }, { atMs: 2000, input: req('b', 100, 1) }]).log;
    expect(slow[0]!.t).toBeCloseTo(3 * base, 6);
    expect(slow[2]!.t - 2000).toBeCloseTo(base, 6);
  });

  it('error injection fails about p of requests, deterministically per seed', () => {
    const subs = Array.from({ length: 2000 }, (_, i) => ({ atMs: i * 10, input: req(`r${i}`, 50, 2) }));
    const run = (): string[] => drive({ errorProbability: 0.1, faultRng: deriveRng(9, 'faults/w0'), maxQueuedSequences: 4096 }, subs).log.filter((l) => l.kind === 'error').map((l) => l.id);
    const a = run();
    expect(a.length / 2000).toBeGreaterThan(0.08);
    expect(a.length / 2000).toBeLessThan(0.12);
    expect(run()).toEqual(a);
    expect(() => new SimWorker({ id: 'x', index: 0, latency, maxSequences: 1, maxQueuedSequences: 1, errorProbability: 0.5 })).toThrow(/faultRng/);
  });

  it('emits tokens events every N tokens when asked and supports cancel', () => {
    const { log } = drive({ tokensEventEvery: 4 }, [{ atMs: 0, input: req('a', 10, 10) }]);
    expect(log.map((l) => l.kind)).toEqual(['first', 'tokens', 'tokens', 'done']);
    const w = new SimWorker({ id: 'c', index: 0, latency, maxSequences: 1, maxQueuedSequences: 4 });
    const out = new WorkerOutput();
    expect(w.submit(req('x', 10, 10), 0, out)).toBeGreaterThan(0);
    expect(w.submit(req('y', 10, 10), 0, out)).toBe(NO_WAKE);
    expect(w.cancel('y', 1)).toBe(true);
    expect(w.cancel('x', 1)).toBe(true);
    expect(w.load).toBe(0);
    expect(w.cancel('z', 1)).toBe(false);
  });

  it('validates fault plans and network configs, naming the field', () => {
    expect(() => validateFaultPlan({ crashes: [{ workerIndex: 3, atMs: 0, restartAfterMs: 1 }] }, 2)).toThrow(/crashes\[0\].workerIndex/);
    expect(() => validateFaultPlan({ slowdowns: [{ workerIndex: 0, startMs: 5, endMs: 1, factor: 2 }] }, 2)).toThrow(/slowdowns\[0\]/);
    expect(() => validateFaultPlan({ errorProbability: 1.5 }, 2)).toThrow(/errorProbability/);
    expect(() => new NetworkModel({ baseLatencyMs: -1, jitterMs: 0, jitter: 'uniform' }, Math.random)).toThrow(/baseLatencyMs/);
    const net = new NetworkModel({ baseLatencyMs: 2, jitterMs: 1, jitter: 'uniform' }, deriveRng(1, 'net'));
    for (let i = 0; i < 100; i++) { const d = net.delayMs(); expect(d >= 2 && d < 3).toBe(true); }
    expect(WorkerEventKind.done).toBe(3);
  });
});
