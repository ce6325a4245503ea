// GPU pinning for live runs on a host with several GPUs (`--live-gpus G`, or MLX_SERVING_LIVE_GPUS):
// worker node i of a cluster gets CUDA_VISIBLE_DEVICES=<i mod G> in its environment, which its python
// runtime inherits, so that each node's MLX sees one GPU (as device 0) and N nodes on N GPUs do not
// share one. Without it every node runs on the default GPU. mlx_lm.server (a `direct` baseline) is
// not pinned: it is one process on the default device.
import { LiveRunError } from '../../live/shared/processes.js';

export const LIVE_GPUS_ENV = 'MLX_SERVING_LIVE_GPUS';
export const LIVE_GPUS_MAX = 16;

/** `--live-gpus G`: an integer in [1, 16], or undefined. */
export function parseLiveGpus(s: string): number | undefined {
  const n = Number(s);
  return /^[0-9]+$/.test(s) && n >= 1 && n <= LIVE_GPUS_MAX ? n : undefined;
}

/**
 * The GPU count asked for: the option when given, else the environment variable; undefined for none.
 * A malformed value (in either place) is an input error that names where it came from.
 */
export function resolveLiveGpus(option: string | undefined, env: NodeJS.ProcessEnv = process.env): number | undefined {
  const [raw, where] = option !== undefined ? [option, '--live-gpus'] : [env[LIVE_GPUS_ENV], LIVE_GPUS_ENV];
  if (raw === undefined || (option === undefined && raw === '')) return undefined;
  const n = parseLiveGpus(raw);
  if (n === undefined) throw new LiveRunError('input', `${where} must be an integer in [1, ${LIVE_GPUS_MAX}], got ${raw}`);
  return n;
}

/** The GPU worker node `index` runs on among `gpus`. */
export function gpuOfWorker(index: number, gpus: number): number {
  if (!Number.isInteger(index) || index < 0) throw new Error(`worker index must be a non-negative integer, got ${index}`);
  if (!Number.isInteger(gpus) || gpus < 1) throw new Error(`gpus must be a positive integer, got ${gpus}`);
  return index % gpus;
}

/** The environment of worker node `index`: `env` with CUDA_VISIBLE_DEVICES set to its GPU. */
export function pinnedEnv(index: number, gpus: number, env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return { ...env, CUDA_VISIBLE_DEVICES: String(gpuOfWorker(index, gpus)) };
}

/** For the report: which worker node got which GPU, e.g. "w0 → GPU 0, w1 → GPU 1". */
export function pinningMap(workers: number, gpus: number): string {
  return Array.from({ length: workers }, (_, i) => `w${i} → GPU ${gpuOfWorker(i, gpus)}`).join(', ');
}
