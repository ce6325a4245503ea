// An operator's restart of a worker (the rolling restart's step): the process is down, then loads the
// model at once (cold start), and says it is `restarting` until the load is done.
import { describe, expect, it } from 'vitest';
import { createLatencyModel } from '../latency/latency-model.js';
import { validateFaultPlan } from './faults.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput } from './worker.js';

const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });

describe('SimWorker.restart', () => {
  it('is down for downMs, then loads the model without waiting for a request; restarting until loaded', () => {
    const w = new SimWorker({ id: 'w0', index: 0, latency, maxSequences: 4, maxQueuedSequences: 16, startWarm: true });
    const out = new WorkerOutput();
    const t0 = w.submit({ requestId: 'a', promptTokens: 100, outputTokens: 50, maxTokens: 50, prefixBlocks: [] }, 0, out);
    expect(t0).not.toBe(NO_WAKE);
    const back = w.restart(10, 2000, out);
    expect(back).toBe(2010);
    expect(w.state).toBe('down');
    expect(w.restarting).toBe(true);
    // what it still held fails (a drained worker holds nothing); it is not counted as a crash
    expect(out.count).toBe(1);
    expect(out.kinds[0]).toBe(WorkerEventKind.error);
    expect(w.stats.crashes).toBe(0);
    out.reset();
    const loaded = w.onWake(back, w.wakeId, out);
    expect(w.state).toBe('loading');
    expect(w.restarting).toBe(true);
    expect(loaded).toBeCloseTo(2010 + latency.coldStartMs(), 6);
    expect(w.onWake(loaded, w.wakeId, out)).toBe(NO_WAKE);
    expect(w.state).toBe('idle');
    expect(w.restarting).toBe(false);
    expect(w.stats.coldStarts).toBe(1);
    // warm now: a request starts its step at once
    const step = w.submit({ requestId: 'b', promptTokens: 100, outputTokens: 5, maxTokens: 5, prefixBlocks: [] }, loaded + 1, out);
    expect(step).toBeGreaterThan(loaded + 1);
    expect(w.stats.coldStarts).toBe(1);
  });

  it('validates a rolling-restart fault, naming the field', () => {
    const r = { atMs: 0, minHealthyWorkers: 1, processRestartMs: 100, waitHealthyMs: 1, drainTimeoutMs: 1, readyTimeoutMs: 1 };
    expect(() => validateFaultPlan({ rollingRestart: r }, 2)).not.toThrow();
    expect(() => validateFaultPlan({ rollingRestart: { ...r, minHealthyWorkers: 2 } }, 2)).toThrow(/faults\.rollingRestart\.minHealthyWorkers must be < the number of workers/);
    expect(() => validateFaultPlan({ rollingRestart: { ...r, processRestartMs: -1 } }, 2)).toThrow(/faults\.rollingRestart\.processRestartMs/);
    expect(() => validateFaultPlan({ rollingRestart: { ...r, readyTimeoutMs: Number.POSITIVE_INFINITY } }, 2)).toThrow(/faults\.rollingRestart\.readyTimeoutMs/);
  });
});
