// A latency model with prefill and decode sped up or slowed down by a factor (capacity sensitivity:
// "what if prefill were 20 % faster"). speed 1.2 divides the time by 1.2.
import type { DecodeStepBreakdown, LatencyModel, PrefillBreakdown } from './latency-model.js';

export interface SpeedFactors {
  readonly prefillSpeed?: number;
  readonly decodeSpeed?: number;
}

export function scaledLatency(base: LatencyModel, f: SpeedFactors): LatencyModel {
  const p = f.prefillSpeed ?? 1;
  const d = f.decodeSpeed ?? 1;
  if (!(p > 0) || !(d > 0)) throw new Error(`scaledLatency: speeds must be > 0 (prefill ${p}, decode ${d})`);
  return {
    id: `${base.id}/prefill×${p}/decode×${d}`,
    modelBytes: base.modelBytes,
    kvBytesPerToken: base.kvBytesPerToken,
    memoryBytesUsable: base.memoryBytesUsable,
    kvCapacityBytes: base.kvCapacityBytes,
    requestOverheadMs: base.requestOverheadMs,
    contextTokensMax: base.contextTokensMax,
    prefillMs: (promptTokens, cachedTokens) => base.prefillMs(promptTokens, cachedTokens) / p,
    prefillBreakdown(promptTokens, cachedTokens): PrefillBreakdown {
      const b = base.prefillBreakdown(promptTokens, cachedTokens);
      return { tokens: b.tokens, matmulMs: b.matmulMs / p, attentionMs: b.attentionMs / p, totalMs: b.totalMs / p };
    },
    decodeStepMs: (batchSize, totalContextTokens) => base.decodeStepMs(batchSize, totalContextTokens) / d,
    decodeStepBreakdown(batchSize, totalContextTokens): DecodeStepBreakdown {
      const b = base.decodeStepBreakdown(batchSize, totalContextTokens);
      return { overheadMs: b.overheadMs / d, weightsMs: b.weightsMs / d, kvMs: b.kvMs / d, perSequenceMs: b.perSequenceMs / d, totalMs: b.totalMs / d };
    },
    coldStartMs: () => base.coldStartMs(),
  };
}
