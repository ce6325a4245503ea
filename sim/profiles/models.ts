// Model profiles: architecture numbers from each model's config.json on Hugging Face (public), parameter
// counts from the model cards, and quantizations (bits per parameter including scales). The latency
// model derives bytes per token and KV bytes per token from these.
//   KV bytes per token = 2 (K and V) × layers × kvHeads × headDim × bytesPerElement(precision)
import { s, type KvPrecision, type ModelProfile, type Quantization, type QuantizationId } from './types.js';
import { kvBytesPerToken as coreKvBytesPerToken } from '../../core/memory/kv-bytes.js';

const HF = 'model config.json (HF)';
const CARD = 'model card (HF): parameter count';

interface Arch {
  id: string; name: string; params: number; vocab: number; hidden: number; tied: boolean;
  layers: number; heads: number; kvHeads: number; headDim: number; ctx: number; paramsSource?: string;
}

function dense(a: Arch): ModelProfile {
  const paramSrc = a.paramsSource ?? CARD;
  return {
    id: a.id,
    name: a.name,
    totalParams: s(a.params, paramSrc),
    activeParams: s(a.params, `${paramSrc} (dense: all parameters active)`),
    embeddingParams: s(a.vocab * a.hidden, `derived: vocab_size ${a.vocab} × hidden_size ${a.hidden} (${HF})`),
    tiedEmbeddings: a.tied,
    layers: s(a.layers, HF),
    attentionHeads: s(a.heads, HF),
    kvHeads: s(a.kvHeads, HF),
    headDim: s(a.headDim, HF),
    contextTokensMax: s(a.ctx, HF),
  };
}

export const MODELS = {
  'llama-3.1-8b': dense({ id: 'llama-3.1-8b', name: 'Llama-3.1-8B', params: 8.03e9, vocab: 128256, hidden: 4096, tied: false, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ctx: 131072 }),
  'llama-3-8b': dense({ id: 'llama-3-8b', name: 'Llama-3-8B', params: 8.03e9, vocab: 128256, hidden: 4096, tied: false, layers: 32, heads: 32, kvHeads: 8, headDim: 128, ctx: 8192 }),
  'llama-3.1-70b': dense({ id: 'llama-3.1-70b', name: 'Llama-3.1-70B', params: 70.55e9, vocab: 128256, hidden: 8192, tied: false, layers: 80, heads: 64, kvHeads: 8, headDim: 128, ctx: 131072 }),
  'llama-3-70b': dense({ id: 'llama-3-70b', name: 'Llama-3-70B', params: 70.55e9, vocab: 128256, hidden: 8192, tied: false, layers: 80, heads: 64, kvHeads: 8, headDim: 128, ctx: 8192 }),
  'qwen3-8b': dense({ id: 'qwen3-8b', name: 'Qwen3-8B', params: 8.19e9, vocab: 151936, hidden: 4096, tied: false, layers: 36, heads: 32, kvHeads: 8, headDim: 128, ctx: 40960 }),
  'qwen2-7b': dense({ id: 'qwen2-7b', name: 'Qwen2-7B', params: 7.62e9, vocab: 152064, hidden: 3584, tied: false, layers: 28, heads: 28, kvHeads: 4, headDim: 128, ctx: 32768 }),
  'qwen2.5-14b': dense({ id: 'qwen2.5-14b', name: 'Qwen2.5-14B', params: 14.77e9, vocab: 152064, hidden: 5120, tied: false, layers: 48, heads: 40, kvHeads: 8, headDim: 128, ctx: 32768 }),
  'qwen2.5-32b': dense({ id: 'qwen2.5-32b', name: 'Qwen2.5-32B', params: 32.76e9, vocab: 152064, hidden: 5120, tied: false, layers: 64, heads: 40, kvHeads: 8, headDim: 128, ctx: 32768 }),
  // Gemma 2/3 alternate sliding-window and global attention layers; KV is modelled as if every layer
  // were global (conservative for contexts beyond the window).
  'gemma-2-27b': dense({ id: 'gemma-2-27b', name: 'Gemma-2-27B', params: 27.23e9, vocab: 256000, hidden: 4608, tied: true, layers: 46, heads: 32, kvHeads: 16, headDim: 128, ctx: 8192 }),
  'gemma-3-27b': dense({ id: 'gemma-3-27b', name: 'Gemma-3-27B (text)', params: 27.0e9, vocab: 262208, hidden: 5376, tied: true, layers: 62, heads: 32, kvHeads: 16, headDim: 128, ctx: 131072, paramsSource: 'model card (HF): 27.4 B including a ~0.4 B SigLIP vision tower; text decoder ≈ 27.0 B (derived)' }),
  'mistral-small-24b': dense({ id: 'mistral-small-24b', name: 'Mistral-Small-24B (2501)', params: 23.57e9, vocab: 131072, hidden: 5120, tied: false, layers: 40, heads: 32, kvHeads: 8, headDim: 128, ctx: 32768 }),
  'qwen3-30b-a3b': {
    id: 'qwen3-30b-a3b',
    name: 'Qwen3-30B-A3B (MoE)',
    totalParams: s(30.5e9, CARD),
    activeParams: s(3.3e9, `${CARD} (3.3 B activated)`),
    embeddingParams: s(151936 * 2048, `derived: vocab_size 151936 × hidden_size 2048 (${HF})`),
    tiedEmbeddings: false,
    layers: s(48, HF),
    attentionHeads: s(32, HF),
    kvHeads: s(4, HF),
    headDim: s(128, HF),
    contextTokensMax: s(40960, HF),
    moe: {
      experts: s(128, `${HF}: num_experts`),
      expertsPerToken: s(8, `${HF}: num_experts_per_tok`),
      expertParams: s(48 * 128 * 3 * 2048 * 768, `derived: 48 layers × 128 experts × 3 × hidden 2048 × moe_intermediate_size 768 (${HF})`),
      stepOverheadMs: s(7.3, 'derived: M3 Max Qwen3 MoE MLX decode 68.0 tok/s (14.7 ms) minus the dense roofline step for 3.35 B active params (7.4 ms) (calibration/apple-silicon.md, mlx-lm issue 92)'),
      prefillEfficiency: s(0.83, 'derived: M3 Max Qwen3 MoE MLX prefill 1161 tok/s ÷ 1406 tok/s predicted for a dense model of 3.0 B active matmul params (calibration/apple-silicon.md, mlx-lm issue 92)'),
    },
  },
} as const satisfies Record<string, ModelProfile>;

export type ModelId = keyof typeof MODELS;

export function getModel(id: string): ModelProfile {
  const m = (MODELS as Record<string, ModelProfile>)[id];
  if (!m) throw new Error(`unknown model profile ${JSON.stringify(id)}; known: ${Object.keys(MODELS).join(', ')}`);
  return m;
}

export const QUANTIZATIONS: Readonly<Record<QuantizationId, Quantization>> = {
  'mlx-4bit': { id: 'mlx-4bit', bitsPerParam: s(4.5, 'estimate: 4 bits + fp16 scale and bias per group of 64 (calibration/apple-silicon.md)') },
  'mlx-8bit': { id: 'mlx-8bit', bitsPerParam: s(8.5, 'estimate: 8 bits + fp16 scale and bias per group of 64') },
  'gguf-q4_k_m': { id: 'gguf-q4_k_m', bitsPerParam: s(4.85, 'estimate: llama.cpp Q4_K_M averages ≈ 4.85 bits/weight on Llama-3-8B (file size ÷ params)') },
  'gguf-q8_0': { id: 'gguf-q8_0', bitsPerParam: s(8.5, 'llama.cpp Q8_0 format: 32 int8 + one fp16 scale per block = 8.5 bits') },
  fp16: { id: 'fp16', bitsPerParam: s(16, 'definition') },
};

export { KV_BYTES_PER_ELEMENT } from '../../core/memory/kv-bytes.js';

/** KV bytes per token of a model profile (the formula lives in core/memory/kv-bytes.ts). */
export function kvBytesPerToken(m: ModelProfile, precision: KvPrecision): number {
  return coreKvBytesPerToken({ layers: m.layers.value, kvHeads: m.kvHeads.value, headDim: m.headDim.value }, precision);
}
