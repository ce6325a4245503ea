// Hardware profiles of the Apple-Silicon Macs the simulator models. Bandwidth is Apple's specification
// (calibration/apple-silicon.md). Memory: the configurations sold; the profile models the largest
// (serving wants the most KV room) unless stated. Compute and efficiencies come from the measured rows
// of the calibration table where the chip has them; other chips reuse the M3 Ultra MLX figures scaled
// by GPU peak, and say so ("derived").
import { s, type HardwareProfile, type RuntimeCalibration, type Sourced } from './types.js';

const GB = 1e9;
const GiB = 1024 ** 3;
const SPEC = 'Apple specifications (calibration/apple-silicon.md, memory bandwidth table)';
const MEM_SPEC = 'Apple tech specs: unified memory configurations; largest modelled';
const CAL = 'calibration/apple-silicon.md';

/** cores × 128 ALU lanes × 2 FLOP (FMA) × clock. Clocks: M1 1.296, M2 1.398, M3 1.38, M4 1.578 GHz. */
function gpuPeak(cores: number, clockGHz: number): Sourced {
  return s(cores * 128 * 2 * clockGHz * 1e9, `derived estimate: ${cores} GPU cores × 128 lanes × 2 FLOP × ${clockGHz} GHz (public die analyses)`);
}

/** M3 Ultra MLX effective prefill: 2 × matmul params × measured prefill tok/s, per Rapid-MLX row:
 *  Llama-3.1-8B 17.6, Qwen3-8B 16.4, Qwen2.5-14B 17.2, Gemma-3-27B 16.5 TFLOP/s → mean 16.9. */
const M3_ULTRA_MLX_PREFILL_FLOPS = 16.9e12;
const M3_ULTRA_PEAK = 80 * 128 * 2 * 1.38e9;
const MLX_PREFILL_UTILISATION = M3_ULTRA_MLX_PREFILL_FLOPS / M3_ULTRA_PEAK;

/** Decode fit over the four M3 Ultra Rapid-MLX short-prompt rows (max relative error 2 %):
 *  step = 0.45 ms + bytes / (0.68 × 819 GB/s). */
const MLX_ETA = s(0.68, `derived: least-squares fit of the four M3 Ultra Rapid-MLX decode rows (${CAL}); assumed for other chips`);
const MLX_STEP_OVERHEAD = s(0.45, `derived: same fit as η (M3 Ultra Rapid-MLX rows); assumed for other chips`);
/** llama.cpp PR 16894 batched-bench: qwen2-7B Q8_0 decode step ≈ 11 ms + 1.7 ms per extra sequence → 1.7 / 7.6 B. */
const PER_SEQ = s(1.7 / 7.62, `derived: llama.cpp PR 16894 (qwen2-7B, 1.7 ms per extra sequence) ÷ 7.62 B params (${CAL}, batch scaling)`);
/** The M3 Ultra Rapid-MLX rows: Llama-3.1-8B, Qwen3-8B, Qwen2.5-14B, Gemma-3-27B (an older mlx-lm than 0.31). */
const RAPID_MLX_ROWS = { engine: 'mlx', paramsB: [8, 27], release: 0, rows: 'M3 Ultra Rapid-MLX rows, 8–27 B' } as const;
const REQ_OVERHEAD = s(2, 'estimate: tokenize + detokenize + request set-up in the runtime (no published figure)');

function mlxScaled(peak: Sourced): RuntimeCalibration {
  return {
    runtime: 'mlx',
    decodeEfficiency: MLX_ETA,
    stepOverheadMs: MLX_STEP_OVERHEAD,
    prefillFlopsPerSec: s(MLX_PREFILL_UTILISATION * peak.value, `derived: GPU peak × ${MLX_PREFILL_UTILISATION.toFixed(3)} (the M3 Ultra MLX prefill utilisation from the Rapid-MLX rows)`),
    perSequenceStepMsPerBParams: PER_SEQ,
    requestOverheadMs: REQ_OVERHEAD,
    fittedOn: RAPID_MLX_ROWS,
  };
}

const USABLE = s(0.75, 'estimate: macOS default GPU wired-memory limit ≈ 75 % of unified memory (iogpu.wired_limit_mb raises it)');
const SSD = s(4 * GB, 'estimate: internal SSD sequential read 5–7 GB/s (public reviews) less safetensors load/Metal upload overhead');

function chip(id: string, name: string, gpuCores: number, clockGHz: number, memoryOptionsGB: number[], bandwidthGBs: number, extra: Partial<HardwareProfile['runtimes']> = {}, mlx?: RuntimeCalibration): HardwareProfile {
  const peak = gpuPeak(gpuCores, clockGHz);
  const memGB = Math.max(...memoryOptionsGB);
  return {
    id,
    name,
    gpuCores,
    memoryOptionsGB,
    memoryBytes: s(memGB * GiB, `${MEM_SPEC}: ${memGB} GB`),
    bandwidthBytesPerSec: s(bandwidthGBs * GB, SPEC),
    gpuPeakFlopsPerSec: peak,
    usableMemoryFraction: USABLE,
    loadBandwidthBytesPerSec: SSD,
    runtimes: { ...extra, mlx: mlx ?? mlxScaled(peak) },
  };
}

const m3UltraMlx: RuntimeCalibration = {
  runtime: 'mlx',
  decodeEfficiency: MLX_ETA,
  stepOverheadMs: MLX_STEP_OVERHEAD,
  prefillFlopsPerSec: s(M3_ULTRA_MLX_PREFILL_FLOPS, `derived: 2 × matmul params × prefill tok/s, mean over the four M3 Ultra Rapid-MLX rows (${CAL})`),
  perSequenceStepMsPerBParams: PER_SEQ,
  requestOverheadMs: REQ_OVERHEAD,
  fittedOn: RAPID_MLX_ROWS,
};

/** The 70B post ran mlx-lm 0.31, a newer release than the Rapid-MLX rows; its prefill is 44 % faster
 *  than the Rapid-MLX-derived compute predicts, so it is kept as its own runtime entry. */
const m3UltraMlx031: RuntimeCalibration = {
  ...m3UltraMlx,
  runtime: 'mlx-lm-0.31',
  prefillFlopsPerSec: s(24.5e12, `derived: Llama-3.1-70B-4bit prefill 170 tok/s at 4K context on M3 Ultra, mlx-lm 0.31 (${CAL}, abhiramsalammagari.com): (2 × 69.5 B + attention) × 170`),
  fittedOn: { engine: 'mlx', paramsB: [65, 75], release: 0.31, rows: 'Llama-3.1-70B 4-bit on M3 Ultra, mlx-lm 0.31; its size class, 65–75 B' },
};

function llamaCpp(eta: number, overheadMs: number, flops: number, rows: string): RuntimeCalibration {
  const src = `derived: exact fit to the two llama.cpp Q4_K_M rows (${rows}, ${CAL}; XiongjieDai GPU-Benchmarks-on-LLM-Inference)`;
  return {
    runtime: 'llama.cpp',
    decodeEfficiency: s(eta, src),
    stepOverheadMs: s(overheadMs, src),
    prefillFlopsPerSec: s(flops, `derived: geometric mean of 2 × matmul params × pp512 tok/s over ${rows} (${CAL})`),
    perSequenceStepMsPerBParams: PER_SEQ,
    requestOverheadMs: REQ_OVERHEAD,
    fittedOn: { engine: 'llama.cpp', paramsB: [8, 70], release: 0, rows },
  };
}

export const HARDWARE = {
  'm1-max': chip('m1-max', 'M1 Max (32-core GPU)', 32, 1.296, [32, 64], 400),
  'm2-max': chip('m2-max', 'M2 Max (38-core GPU)', 38, 1.398, [32, 64, 96], 400),
  'm2-ultra': chip('m2-ultra', 'M2 Ultra (76-core GPU)', 76, 1.398, [64, 128, 192], 800, {
    'llama.cpp': llamaCpp(0.704, 4.05, 15.7e12, 'Llama-3-8B 78.8 tok/s, Llama-3-70B 12.5 tok/s'),
  }),
  'm3-pro': chip('m3-pro', 'M3 Pro (18-core GPU)', 18, 1.38, [18, 36], 150),
  'm3-max-30c': chip('m3-max-30c', 'M3 Max (14-core CPU / 30-core GPU)', 30, 1.38, [36, 96], 300),
  'm3-max-40c': chip('m3-max-40c', 'M3 Max (16-core CPU / 40-core GPU)', 40, 1.38, [48, 64, 128], 400, {
    'llama.cpp': llamaCpp(0.859, 6.24, 10.07e12, 'Llama-3-8B 49.0 tok/s, Llama-3-70B 7.65 tok/s'),
  }),
  'm3-ultra': chip('m3-ultra', 'M3 Ultra (80-core GPU)', 80, 1.38, [96, 256, 512], 819, { 'mlx-lm-0.31': m3UltraMlx031 }, m3UltraMlx),
  'm4-max-32c': chip('m4-max-32c', 'M4 Max (14-core CPU / 32-core GPU)', 32, 1.578, [36], 410),
  'm4-max-40c': chip('m4-max-40c', 'M4 Max (16-core CPU / 40-core GPU)', 40, 1.578, [48, 64, 128], 546),
} as const satisfies Record<string, HardwareProfile>;

export type HardwareId = keyof typeof HARDWARE;

export function getHardware(id: string): HardwareProfile {
  const h = (HARDWARE as Record<string, HardwareProfile>)[id];
  if (!h) throw new Error(`unknown hardware profile ${JSON.stringify(id)}; known: ${Object.keys(HARDWARE).join(', ')}`);
  return h;
}

/** The same chip with another of its sold memory configurations. */
export function withMemoryGB(h: HardwareProfile, memoryGB: number): HardwareProfile {
  if (!h.memoryOptionsGB.includes(memoryGB)) throw new Error(`${h.id}: memory ${memoryGB} GB is not a sold configuration (${h.memoryOptionsGB.join(', ')} GB)`);
  return { ...h, memoryBytes: s(memoryGB * GiB, `${MEM_SPEC}: ${memoryGB} GB`) };
}
