// mlx-lm's padded decode cost, for sim-vs-live (WorkerConfig.decodeLayout padded): BatchKVCache pads
// every sequence to the longest of its batch, and the runtime's --context-buckets
// (python/mlx_runtime/length_buckets.py) make one batch per range of prompt length, each its own pass.
// Which bucket a sequence is in is core's decision (core/scheduling/context-buckets.ts).
// A batch holding a sampled request (temperature > 0) samples row by row (mlx-lm's GenerationBatch:
// one call only when all rows share a sampler): each of its rows costs sampledRowMs more.
import { bucketOf } from '../../core/scheduling/context-buckets.js';
import type { LatencyModel } from '../latency/latency-model.js';
import type { SimSequence } from './sequence.js';

/**
 * One decode step: per bucket (core's bucketOf), decodeStepMs(n, n × longest context), + n × sampledRowMs
 * if the bucket holds a sampled sequence. O(batch); `count`/`longest`/`sampled` are the caller's scratch.
 */
export function paddedDecodeMs(head: SimSequence | undefined, decodeSteps: number, edges: readonly number[], latency: LatencyModel, count: number[], longest: number[], sampled: number[] = []): number {
  for (let b = 0; b <= edges.length; b++) {
    count[b] = 0;
    longest[b] = 0;
    sampled[b] = 0;
  }
  for (let seq = head; seq !== undefined; seq = seq.nextDecoding) {
    const prompt = seq.input.promptTokens;
    const b = bucketOf(edges, prompt);
    const ctx = prompt + decodeSteps - seq.decodeBaseStep;
    count[b]!++;
    if (ctx > longest[b]!) longest[b] = ctx;
    if (seq.input.sampled === true) sampled[b]!++;
  }
  const rowMs = latency.sampledRowMs ?? 0;
  let ms = 0;
  for (let b = 0; b <= edges.length; b++) {
    const n = count[b]!;
    if (n === 0) continue;
    ms += latency.decodeStepMs(n, n * longest[b]!);
    if (sampled[b]! > 0) ms += n * rowMs;
  }
  return ms;
}
