// Building blocks shared by the scenario definitions: the clusters and the policy sets.
import type { ClusterDef, PolicySetDef } from '../define.js';

/** The PRD's benchmark model (Qwen3-30B-A3B, MLX 4-bit) on an M3 Ultra (819 GB/s, 96 GB). */
export const QWEN3_MOE_ON_M3_ULTRA: ClusterDef = {
  hardware: 'm3-ultra', model: 'qwen3-30b-a3b', quantization: 'mlx-4bit', kvPrecision: 'fp16', maxSequences: 128,
  network: { baseLatencyMs: 0.3, jitterMs: 0.2, jitter: 'uniform' },
};

/** Llama-3.1-8B (MLX 4-bit) on an M3 Ultra: the calibration table's best-measured pair. */
export const LLAMA8B_ON_M3_ULTRA: ClusterDef = {
  hardware: 'm3-ultra', model: 'llama-3.1-8b', quantization: 'mlx-4bit', kvPrecision: 'fp16', maxSequences: 16,
  network: { baseLatencyMs: 0.3, jitterMs: 0.2, jitter: 'uniform' },
};

/** What a user runs without mlx-serving: the engine's own server, one process, its own batching. */
export const DIRECT: PolicySetDef = { name: 'direct engine', kind: 'direct' };

/** mlx-serving with its defaults, in front of the same single machine. */
export const GATEWAY_ONE_WORKER = { name: 'mlx-serving (1 worker)', kind: 'gateway', workers: 1, gateway: {} } as const satisfies PolicySetDef;
