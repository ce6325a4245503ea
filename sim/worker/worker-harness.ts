// Test support: drives one SimWorker on the event loop and records its steps and token times.
import { EventLoop, Phase } from '../engine/loop.js';
import { createLatencyModel } from '../latency/latency-model.js';
import { NO_WAKE, SimWorker, WorkerEventKind, WorkerOutput, type SequenceInput, type SimSequence, type StepObserver, type WorkerConfig } from './worker.js';

export const latency = createLatencyModel({ hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit' });

export interface Step { startMs: number; durationMs: number; batch: number; continuing: number; prefillTokens: number; prefilling: number }
export interface Run { steps: Step[]; first: Map<string, SimSequence>; tokenTimesMs: Map<string, number[]>; errors: Map<string, { code: string | undefined; atMs: number }>; worker: SimWorker }

export function run(config: Partial<WorkerConfig>, subs: { atMs: number; input: SequenceInput }[], cancels: { atMs: number; id: string }[] = []): Run {
  const steps: Step[] = [];
  const holder: { w?: SimWorker } = {};
  const observer: StepObserver = {
    onStep: (_w, startMs, durationMs, batch, continuing, prefillTokens) => steps.push({ startMs, durationMs, batch, continuing, prefillTokens, prefilling: holder.w!.prefillingCount }),
  };
  const w = new SimWorker({ id: 'w0', index: 0, latency, maxSequences: 8, maxQueuedSequences: 64, tokensEventEvery: 1, observer, ...config });
  holder.w = w;
  const loop = new EventLoop({ seed: 'chunked-prefill', maxSteps: 1_000_000 });
  const out = new WorkerOutput();
  const first = new Map<string, SimSequence>();
  const tokenTimesMs = new Map<string, number[]>();
  const errors = new Map<string, { code: string | undefined; atMs: number }>();
  const flush = (t: number): void => {
    for (let i = 0; i < out.count; i++) {
      const seq = out.seqs[i]!;
      if (out.kinds[i] === WorkerEventKind.firstToken) first.set(seq.requestId, seq);
      if (out.kinds[i] !== WorkerEventKind.error) tokenTimesMs.set(seq.requestId, [...(tokenTimesMs.get(seq.requestId) ?? []), t]);
      else errors.set(seq.requestId, { code: out.codes[i], atMs: t });
    }
    out.reset();
  };
  const wake = (t: number): void => { if (t !== NO_WAKE) loop.schedule(t, 0, 0, w.wakeId); };
  loop.on(0, Phase.workerStep, 'wake', (e, sim) => { const t = w.onWake(sim.nowMs, e.num, out); flush(sim.nowMs); wake(t); });
  loop.on(1, Phase.arrival, 'submit', (e, sim) => { const t = w.submit(e.payload as SequenceInput, sim.nowMs, out); flush(sim.nowMs); wake(t); });
  loop.on(2, Phase.timer, 'cancel', (e) => { w.cancel(e.payload as string, 0); });
  for (const s of subs) loop.schedule(s.atMs, 1, 0, 0, s.input);
  for (const c of cancels) loop.schedule(c.atMs, 2, 0, 0, c.id);
  loop.run();
  return { steps, first, tokenTimesMs, errors, worker: w };
}

export const req = (id: string, promptTokens: number, outputTokens: number, extra: Partial<SequenceInput> = {}): SequenceInput => ({ requestId: id, promptTokens, outputTokens, maxTokens: outputTokens, prefixBlocks: [], ...extra });

