// mlx-lm's padded decode cost, for sim-vs-live (WorkerConfig.decodeLayout padded): BatchKVCache pads
// every sequence to the longest of its batch, and the runtime's --context-buckets
// (python/mlx_runtime/length_buckets.py) make one batch per range of prompt length, each its own pass.
import type { LatencyModel } from '../latency/latency-model.js';
import type { SimSequence } from './sequence.js';

/** Why `edges` are not valid bucket edges (increasing positive integers), or undefined when they are. */
export function contextBucketsError(edges: readonly number[]): string | undefined {
  const bad = edges.some((b, i) => !Number.isInteger(b) || b <= 0 || (i > 0 && b <= edges[i - 1]!));
  return bad ? `context buckets must be increasing positive integers like 2048 or 1024,4096, got ${edges.join(',')}` : undefined;
}

/**
 * One decode step: per bucket (a sequence's bucket is the first edge >= its prompt tokens; the last is
 * open), decodeStepMs(n, n × longest context). O(batch); `count`/`longest` are the caller's scratch.
 */
export function paddedDecodeMs(head: SimSequence | undefined, decodeSteps: number, edges: readonly number[], latency: LatencyModel, count: number[], longest: number[]): number {
  for (let b = 0; b <= edges.length; b++) {
    count[b] = 0;
    longest[b] = 0;
  }
  for (let seq = head; seq !== undefined; seq = seq.nextDecoding) {
    const prompt = seq.input.promptTokens;
    let b = 0;
    while (b < edges.length && prompt > edges[b]!) b++;
    const ctx = prompt + decodeSteps - seq.decodeBaseStep;
    count[b]!++;
    if (ctx > longest[b]!) longest[b] = ctx;
  }
  let ms = 0;
  for (let b = 0; b <= edges.length; b++) if (count[b]! > 0) ms += latency.decodeStepMs(count[b]!, count[b]! * longest[b]!);
  return ms;
}
