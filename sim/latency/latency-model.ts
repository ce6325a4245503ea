// The latency model of one Mac running one model: a breakdown per phase, not one number.
//
//   prefill (compute-bound on Apple Silicon):
//     T = promptTokens - cachedTokens                       (a prompt-cache hit skips the cached prefix)
//     FLOPs = 2 × matmulParams × T + 4 × layers × heads × headDim × T × (cached + T/2)   (attention)
//     prefillMs = FLOPs / (prefillFlopsPerSec × moePrefillEfficiency)
//     matmulParams = activeParams - (tied embeddings ? 0 : embeddingParams)  (the input embedding is a lookup)
//   decode step (memory-bound, roofline with efficiency η):
//     stepMs = overhead + weightBytes(B) / (η·BW) + kvBytesPerToken × totalContext / (η·BW)
//              + (B - 1) × perSequenceStepMsPerBParams × activeParams / 1e9
//     weightBytes(B) = dense: totalParams × bits/8;
//                      MoE: (shared + expertParams × distinct(B) / E) × bits/8,
//                      distinct(B) = E × (1 - (1 - k/E)^B)   (expected distinct experts for B tokens)
//   cold start: modelBytes / loadBandwidth.
// Construction rejects a model that does not fit the usable memory and a decode rate above the roofline.
import { getHardware } from '../profiles/hardware.js';
import { getModel, KV_BYTES_PER_ELEMENT, QUANTIZATIONS } from '../profiles/models.js';
import { ProfileError, type HardwareProfile, type KvPrecision, type ModelProfile, type QuantizationId, type RuntimeId } from '../profiles/types.js';
import { validateHardware, validateModel } from '../profiles/validate.js';

export interface PrefillBreakdown {
  readonly tokens: number;
  readonly matmulMs: number;
  readonly attentionMs: number;
  readonly totalMs: number;
}

export interface DecodeStepBreakdown {
  readonly overheadMs: number;
  readonly weightsMs: number;
  readonly kvMs: number;
  readonly perSequenceMs: number;
  readonly totalMs: number;
}

/** What the worker model needs from a latency model (analytic or calibrated local profile). */
export interface LatencyModel {
  readonly id: string;
  /** Bytes of weights resident in memory. */
  readonly modelBytes: number;
  readonly kvBytesPerToken: number;
  /** Memory the GPU may use: unified memory × usable fraction. */
  readonly memoryBytesUsable: number;
  /** memoryBytesUsable - modelBytes: room for KV. */
  readonly kvCapacityBytes: number;
  readonly requestOverheadMs: number;
  readonly contextTokensMax: number;
  /**
   * Measured on a calibrated machine (local profiles only): a step in which k prompts join the decode
   * batch costs perStepMs + perPromptMs·k beyond their prefill; it replaces requestOverheadMs in that step.
   */
  readonly joinCost?: { readonly perStepMs: number; readonly perPromptMs: number };
  /**
   * Measured on a calibrated machine (local profiles only): what a decode step costs more per row when
   * its batch samples row by row. mlx-lm's BatchGenerator samples the whole batch in one call only when
   * every row shares one sampler (all greedy); a batch holding a sampled request (temperature > 0, a
   * sampler of its own in both the runtime and mlx_lm.server) calls each row's sampler on its own.
   */
  readonly sampledRowMs?: number;
  /**
   * Measured on a calibrated machine (local profiles only): the share of a session's previous answer
   * that its next turn finds in the prefix cache (0…1; absent: 1). The runtime reuses the longest common
   * token prefix; the answer comes back as text inside the chat template, and where its text does not
   * re-tokenize to the generated tokens the rest of the answer is prefilled again.
   */
  readonly answerReuse?: number;
  prefillMs(promptTokens: number, cachedTokens: number): number;
  prefillBreakdown(promptTokens: number, cachedTokens: number): PrefillBreakdown;
  decodeStepMs(batchSize: number, totalContextTokens: number): number;
  decodeStepBreakdown(batchSize: number, totalContextTokens: number): DecodeStepBreakdown;
  coldStartMs(): number;
}

export interface LatencyModelConfig {
  readonly hardware: HardwareProfile | string;
  readonly model: ModelProfile | string;
  readonly quantization: QuantizationId;
  readonly runtime?: RuntimeId;
  readonly kvPrecision?: KvPrecision;
  /** Overrides the runtime's decode efficiency η (what-if studies). */
  readonly decodeEfficiency?: number;
}

const BATCH_TABLE_SIZE = 1025;

export class AnalyticLatencyModel implements LatencyModel {
  readonly id: string;
  readonly modelBytes: number;
  readonly kvBytesPerToken: number;
  readonly memoryBytesUsable: number;
  readonly kvCapacityBytes: number;
  readonly requestOverheadMs: number;
  readonly contextTokensMax: number;
  readonly eta: number;
  private readonly msPerByte: number; // 1000 / (η·BW)
  private readonly prefillMsPerFlop: number;
  private readonly matmulParams: number;
  private readonly attnFlopsPerPair: number;
  private readonly loadMs: number;
  private readonly batchMs: Float64Array; // overhead + weights + per-sequence, by batch size

  constructor(readonly hardware: HardwareProfile, readonly model: ModelProfile, readonly quantization: QuantizationId, readonly runtime: RuntimeId, readonly kvPrecision: KvPrecision, decodeEfficiency?: number) {
    validateHardware(hardware);
    validateModel(model);
    const cal = hardware.runtimes[runtime];
    if (!cal) throw new ProfileError(hardware.id, `runtimes.${runtime}`, `is not calibrated for this chip (have: ${Object.keys(hardware.runtimes).join(', ')})`);
    const q = QUANTIZATIONS[quantization];
    if (!q) throw new ProfileError(model.id, 'quantization', `unknown: ${String(quantization)}`);
    this.id = `${hardware.id}/${model.id}/${quantization}/${runtime}/kv-${kvPrecision}`;
    const bytesPerParam = q.bitsPerParam.value / 8;
    this.eta = decodeEfficiency ?? cal.decodeEfficiency.value;
    if (!(this.eta > 0) || this.eta > 1) throw new ProfileError(this.id, 'decodeEfficiency', `must be in (0, 1] (a decode faster than bandwidth ÷ bytes per token breaks the roofline), got ${this.eta}`);
    this.modelBytes = model.totalParams.value * bytesPerParam;
    this.kvBytesPerToken = 2 * model.layers.value * model.kvHeads.value * model.headDim.value * KV_BYTES_PER_ELEMENT[kvPrecision];
    this.memoryBytesUsable = hardware.memoryBytes.value * hardware.usableMemoryFraction.value;
    this.kvCapacityBytes = this.memoryBytesUsable - this.modelBytes;
    if (this.kvCapacityBytes <= 0) {
      throw new ProfileError(this.id, 'model', `does not fit in memory: weights need ${(this.modelBytes / 1e9).toFixed(1)} GB, usable ${(this.memoryBytesUsable / 1e9).toFixed(1)} GB of ${(hardware.memoryBytes.value / 1024 ** 3).toFixed(0)} GB`);
    }
    this.requestOverheadMs = cal.requestOverheadMs.value;
    this.contextTokensMax = model.contextTokensMax.value;
    this.msPerByte = 1000 / (this.eta * hardware.bandwidthBytesPerSec.value);
    const moeEff = model.moe ? model.moe.prefillEfficiency.value : 1;
    this.prefillMsPerFlop = 1000 / (cal.prefillFlopsPerSec.value * moeEff);
    this.matmulParams = model.activeParams.value - (model.tiedEmbeddings ? 0 : model.embeddingParams.value);
    this.attnFlopsPerPair = 4 * model.layers.value * model.attentionHeads.value * model.headDim.value;
    this.loadMs = (this.modelBytes / hardware.loadBandwidthBytesPerSec.value) * 1000;
    const overheadMs = cal.stepOverheadMs.value + (model.moe ? model.moe.stepOverheadMs.value : 0);
    const perSeqMs = cal.perSequenceStepMsPerBParams.value * (model.activeParams.value / 1e9);
    this.batchMs = new Float64Array(BATCH_TABLE_SIZE);
    for (let b = 1; b < BATCH_TABLE_SIZE; b++) this.batchMs[b] = overheadMs + this.weightBytes(b, bytesPerParam) * this.msPerByte + (b - 1) * perSeqMs;
    this.overheadMs = overheadMs;
    this.perSeqMs = perSeqMs;
    this.bytesPerParam = bytesPerParam;
    const rooflineTokS = hardware.bandwidthBytesPerSec.value / this.weightBytes(1, bytesPerParam);
    const modelTokS = 1000 / this.decodeStepMs(1, 0);
    if (!(modelTokS <= rooflineTokS)) throw new ProfileError(this.id, 'decode', `rate ${modelTokS.toFixed(1)} tok/s exceeds the roofline ${rooflineTokS.toFixed(1)} tok/s (bandwidth ÷ bytes per token)`);
  }

  private readonly overheadMs: number;
  private readonly perSeqMs: number;
  private readonly bytesPerParam: number;

  /** Weight bytes read by one decode step of `batch` sequences. */
  weightBytes(batch: number, bytesPerParam = this.bytesPerParam): number {
    const m = this.model;
    if (!m.moe) return m.totalParams.value * bytesPerParam;
    const e = m.moe.experts.value;
    const k = m.moe.expertsPerToken.value;
    const distinct = e * (1 - Math.pow(1 - k / e, batch));
    const shared = m.totalParams.value - m.moe.expertParams.value;
    return (shared + (m.moe.expertParams.value * distinct) / e) * bytesPerParam;
  }

  prefillBreakdown(promptTokens: number, cachedTokens: number): PrefillBreakdown {
    const cached = Math.min(Math.max(cachedTokens, 0), promptTokens);
    const t = promptTokens - cached;
    const matmulMs = 2 * this.matmulParams * t * this.prefillMsPerFlop;
    const attentionMs = this.attnFlopsPerPair * t * (cached + t / 2) * this.prefillMsPerFlop;
    return { tokens: t, matmulMs, attentionMs, totalMs: matmulMs + attentionMs };
  }

  prefillMs(promptTokens: number, cachedTokens: number): number {
    const cached = cachedTokens < 0 ? 0 : cachedTokens > promptTokens ? promptTokens : cachedTokens;
    const t = promptTokens - cached;
    return (2 * this.matmulParams * t + this.attnFlopsPerPair * t * (cached + t / 2)) * this.prefillMsPerFlop;
  }

  decodeStepMs(batchSize: number, totalContextTokens: number): number {
    const base = batchSize < BATCH_TABLE_SIZE ? this.batchMs[batchSize]! : this.batchBaseMs(batchSize);
    return base + this.kvBytesPerToken * totalContextTokens * this.msPerByte;
  }

  decodeStepBreakdown(batchSize: number, totalContextTokens: number): DecodeStepBreakdown {
    const weightsMs = this.weightBytes(batchSize) * this.msPerByte;
    const kvMs = this.kvBytesPerToken * totalContextTokens * this.msPerByte;
    const perSequenceMs = (batchSize - 1) * this.perSeqMs;
    return { overheadMs: this.overheadMs, weightsMs, kvMs, perSequenceMs, totalMs: this.overheadMs + weightsMs + kvMs + perSequenceMs };
  }

  coldStartMs(): number {
    return this.loadMs;
  }

  private batchBaseMs(b: number): number {
    return this.overheadMs + this.weightBytes(b) * this.msPerByte + (b - 1) * this.perSeqMs;
  }
}

export function createLatencyModel(config: LatencyModelConfig): AnalyticLatencyModel {
  const hardware = typeof config.hardware === 'string' ? getHardware(config.hardware) : config.hardware;
  const model = typeof config.model === 'string' ? getModel(config.model) : config.model;
  return new AnalyticLatencyModel(hardware, model, config.quantization, config.runtime ?? 'mlx', config.kvPrecision ?? 'fp16', config.decodeEfficiency);
}
