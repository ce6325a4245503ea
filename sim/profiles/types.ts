// Profile value types and their validation. Every number in a profile is a Sourced value: the figure
// and where it came from (a specification, a model's config.json, a measurement row of
// ../shared/calibration/apple-silicon.md, or "derived: <how>"). Validation errors name the field and
// the reason, so a bad local profile says exactly what to fix.

export interface Sourced {
  readonly value: number;
  readonly source: string;
}

export const s = (value: number, source: string): Sourced => ({ value, source });

export type RuntimeId = 'mlx' | 'mlx-lm-0.31' | 'llama.cpp';

/** How one runtime performs on one chip: the decode roofline efficiency η, overheads, prefill compute. */
export interface RuntimeCalibration {
  readonly runtime: RuntimeId;
  /** η: fraction of the memory bandwidth a decode step achieves streaming weights and KV. */
  readonly decodeEfficiency: Sourced;
  /** Fixed cost of one decode step (kernel launches, sampling, Python), independent of the batch. */
  readonly stepOverheadMs: Sourced;
  /** Effective FLOP/s during prefill (compute-bound): FLOPs / measured time. */
  readonly prefillFlopsPerSec: Sourced;
  /** Extra step time per additional sequence in the batch, per billion active parameters. */
  readonly perSequenceStepMsPerBParams: Sourced;
  /** Fixed cost per request (tokenize, set-up, detokenize), paid once at admission. */
  readonly requestOverheadMs: Sourced;
  /** What the figures were fitted on: the engine, the model sizes measured (billions of parameters)
   *  and the release (higher is newer); capacity answers pick by it (sim/capacity/calibration-choice.ts). */
  readonly fittedOn: { readonly engine: 'mlx' | 'llama.cpp'; readonly paramsB: readonly [number, number]; readonly release: number; readonly rows: string };
}

export interface HardwareProfile {
  readonly id: string;
  readonly name: string;
  readonly gpuCores: number;
  /** Unified-memory configurations sold for this chip (GB). */
  readonly memoryOptionsGB: readonly number[];
  /** The configuration this profile models (bytes). */
  readonly memoryBytes: Sourced;
  readonly bandwidthBytesPerSec: Sourced;
  /** FP32/FP16 ALU peak: GPU cores × 128 lanes × 2 FLOP × clock (an estimate). */
  readonly gpuPeakFlopsPerSec: Sourced;
  /** Fraction of unified memory the GPU may wire (macOS default limit): model + KV must fit in it. */
  readonly usableMemoryFraction: Sourced;
  /** Read rate when loading weights from the internal SSD (cold start). */
  readonly loadBandwidthBytesPerSec: Sourced;
  readonly runtimes: { readonly mlx: RuntimeCalibration } & Partial<Record<RuntimeId, RuntimeCalibration>>;
}

export interface MoeSpec {
  readonly experts: Sourced;
  readonly expertsPerToken: Sourced;
  /** Parameters in all routed experts together (the rest is shared: attention, embeddings, router). */
  readonly expertParams: Sourced;
  /** Extra decode step time of MoE routing and expert gather (per step). */
  readonly stepOverheadMs: Sourced;
  /** Prefill FLOP/s achieved relative to a dense model of the same active size. */
  readonly prefillEfficiency: Sourced;
}

export interface ModelProfile {
  readonly id: string;
  readonly name: string;
  readonly totalParams: Sourced;
  /** Parameters used per token (= total for dense models). */
  readonly activeParams: Sourced;
  /** Input embedding parameters (vocab × hidden): a lookup, not a matmul, unless tied to the LM head. */
  readonly embeddingParams: Sourced;
  readonly tiedEmbeddings: boolean;
  readonly layers: Sourced;
  readonly attentionHeads: Sourced;
  readonly kvHeads: Sourced;
  readonly headDim: Sourced;
  readonly contextTokensMax: Sourced;
  readonly moe?: MoeSpec;
}

export type QuantizationId = 'mlx-4bit' | 'mlx-8bit' | 'gguf-q4_k_m' | 'gguf-q8_0' | 'fp16';

export interface Quantization {
  readonly id: QuantizationId;
  readonly bitsPerParam: Sourced;
}

export type { KvPrecision } from '../../core/memory/kv-bytes.js';

export class ProfileError extends Error {
  constructor(readonly profile: string, readonly field: string, readonly reason: string) {
    super(`profile ${profile}: ${field} ${reason}`);
    this.name = 'ProfileError';
  }
}

/** Asserts a Sourced (or plain) number is finite and > 0 (or >= 0 when allowZero). */
export function checkPositive(profile: string, field: string, v: Sourced | number | undefined, allowZero = false): number {
  const value: unknown = typeof v === 'object' && v !== null ? v.value : v;
  if (value === undefined) throw new ProfileError(profile, field, 'is missing');
  if (typeof value !== 'number' || Number.isNaN(value)) throw new ProfileError(profile, field, `must be a number, got ${String(value)}`);
  if (!Number.isFinite(value)) throw new ProfileError(profile, field, `must be finite, got ${value}`);
  if (allowZero ? value < 0 : value <= 0) throw new ProfileError(profile, field, `must be ${allowZero ? '>= 0' : '> 0'}, got ${value}`);
  if (typeof v === 'object' && (typeof v.source !== 'string' || v.source.length === 0)) throw new ProfileError(profile, field, 'has no source');
  return value;
}
