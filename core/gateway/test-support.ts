// Helpers for tests and benchmarks of the gateway core: request and status builders, and a seeded
// Rng. Pure (no I/O); not exported from core/index.ts.
import type { InferenceRequest, Rng, SamplingParams } from '../types.js';
import type { WorkerStatus } from './messages.js';

/** mulberry32: a tiny seeded generator for tests (the simulator uses seedrandom). */
export function testRng(seed: number): Rng {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function makeRequest(id: string, over: Partial<Omit<InferenceRequest, 'sampling'>> & { sampling?: Partial<SamplingParams>; text?: string } = {}): InferenceRequest {
  const { text, sampling, ...rest } = over;
  return {
    id,
    model: 'm',
    prompt: { kind: 'text', text: text ?? `prompt of ${id}` },
    promptTokens: 16,
    prefixBlocks: [],
    stream: true,
    ...rest,
    sampling: { temperature: 0, topP: 1, maxTokens: 32, ...sampling },
  };
}

export function makeStatus(workerId: string, over: Partial<WorkerStatus> = {}): WorkerStatus {
  return { workerId, models: ['m'], maxConcurrent: 4, healthy: true, draining: false, kvUsedBytes: 0, kvCapacityBytes: 1e9, ...over };
}
