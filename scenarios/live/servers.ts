// What a live run serves: the project's model (built once into python/.cache/models/<size>, a
// git-ignored cache), the candidate cluster (gateway + worker node(s), each node driving its python
// runtime) and the baseline, mlx_lm.server on the same model directory.
//
// mlx_lm.server runs with its defaults (mlx-lm 0.32.2: --decode-concurrency 32, --prompt-concurrency 8,
// --prefill-step-size 2048, --prompt-cache-size 10), the engine the simulator's direct baseline models
// (sim/worker/mlx-lm-server.ts), plus --max-tokens 4096 (default 512; every request sends its own).
// Larger settings are not safe: on an H200 at --decode-concurrency 128 / --prompt-cache-size 64 it
// ran out of the GPU's 141 GB in phases 2 and 3 (reports/reference/gpu/README.md: mlx-lm's batched
// KV cache pads every sequence to the longest one in the batch).
// On a GPU it gets the runtime's bound on MLX's buffer cache (python/mlx_runtime/cache_limit.py), so
// both sides run the same allocator settings.
// It is started through `import mlx_runtime` first, so on Linux its mlx uses the same OpenBLAS as
// the runtime (python/mlx_runtime/blas.py); without it, mlx[cpu]'s reference BLAS would make the
// baseline several times slower — an unfair baseline.
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startGatewayProcess, startWorkerProcess } from '../../live/shared/launch.js';
import { ensureModel as ensureSharedModel, type ModelSize } from '../../live/shared/model.js';
import { checkPortFree, LiveRunError, waitForHttp, type ManagedProcess, type ProcessSet } from '../../live/shared/processes.js';
import { PYTHON_DIR, pythonBin, pythonEnv } from '../../live/shared/python.js';
import { pinnedEnv } from './gpu-pinning.js';

export { PYTHON_DIR, pythonEnv };
/** The key the load generator sends; the gateway is configured to accept it. */
export const LIVE_API_KEY = 'live-scenario-key-0123456789';

const READY_TIMEOUT_MS = 180_000;


/** Builds (or reuses) the project's model of this size (live/shared/model.ts); a build failure is a fault. */
export function ensureModel(size: ModelSize, log: (m: string) => void): string {
  try {
    return ensureSharedModel(size, log);
  } catch (err) {
    throw new LiveRunError('fault', (err as Error).message, { cause: err });
  }
}

/** A model directory must hold config.json and weights; otherwise a clear input error. */
export function checkModelDir(dir: string): void {
  if (!existsSync(dir)) throw new LiveRunError('input', `model directory ${dir} does not exist (build one with: npm run build:model -- --size tiny --out ${dir})`);
  for (const f of ['config.json', 'tokenizer.json']) {
    if (!existsSync(join(dir, f))) throw new LiveRunError('input', `model directory ${dir} has no ${f}: not a model (build one with: npm run build:model -- --size tiny --out ${dir})`);
  }
}

export interface Server {
  readonly baseUrl: string;
  /** The `model` value clients send. */
  readonly model: string;
  readonly processes: readonly ManagedProcess[];
  /** The MLX device the serving python process(es) reported, e.g. "Device(gpu, 0)" ("unknown" if none did). */
  readonly device: string;
}


export async function startBaseline(ps: ProcessSet, o: { modelDir: string; port: number; signal?: AbortSignal }): Promise<Server> {
  await checkPortFree(o.port, '127.0.0.1', 'mlx_lm.server (baseline)');
  // mlx_lm.server loads the model in its generation thread: a failed load leaves the HTTP server up
  // (health answers) with no thread to serve; its traceback on stderr is the only sign (`fatal`).
  // It prints its MLX default device first (the device its model and generation run on).
  const boot = "import sys, mlx_runtime, mlx_runtime.cache_limit, mlx_runtime.memlog, mlx_runtime.steplog, mlx.core as mx; mlx_runtime.cache_limit.apply(); mlx_runtime.memlog.start('mlx_lm.server'); mlx_runtime.steplog.start('mlx_lm.server'); print('mlx-serving device:', mx.default_device(), file=sys.stderr, flush=True); sys.argv[0] = 'mlx_lm.server'; from mlx_lm.server import main; main()";
  let device = 'unknown';
  const p = ps.start('mlx_lm.server', pythonBin(), [
    '-c', boot, '--model', o.modelDir, '--host', '127.0.0.1', '--port', String(o.port),
    '--max-tokens', '4096', '--log-level', 'WARNING',
  ], {
    cwd: PYTHON_DIR, env: pythonEnv(), fatal: /generation thread died|^Exception in thread|^Traceback \(most recent call last\)/,
    onLine: (l) => {
      const m = /^mlx-serving device: (.+)$/.exec(l);
      if (m !== null) device = m[1]!.trim();
    },
  });
  const baseUrl = `http://127.0.0.1:${o.port}`;
  await waitForHttp(p, `${baseUrl}/health`, READY_TIMEOUT_MS, o.signal);
  return { baseUrl, model: 'default_model', processes: [p], get device() { return device; } };
}

export interface ClusterOptions {
  readonly modelDir: string;
  readonly modelId: string;
  readonly port: number;
  readonly workers: number;
  readonly maxSequences: number;
  /** The gateway core's config (the scenario's policy set). */
  readonly core: unknown;
  /** Directory for the gateway config and the workers' UNIX sockets. */
  readonly runDir: string;
  /** Pin worker node i to GPU i mod gpus (CUDA_VISIBLE_DEVICES; gpu-pinning.ts). Default: not pinned. */
  readonly gpus?: number;
  /** Variables the worker nodes (and their runtimes) get on top of this process's environment (runtime-env.ts). */
  readonly runtimeEnv?: Readonly<Record<string, string>>;
  readonly signal?: AbortSignal;
}

function workerEnv(i: number, o: ClusterOptions): { env?: NodeJS.ProcessEnv } {
  const extra = o.runtimeEnv ?? {};
  if (o.gpus === undefined && Object.keys(extra).length === 0) return {};
  const base = { ...process.env, ...extra };
  return { env: o.gpus !== undefined ? pinnedEnv(i, o.gpus, base) : base };
}

export async function startCluster(ps: ProcessSet, o: ClusterOptions): Promise<Server> {
  await checkPortFree(o.port, '127.0.0.1', 'the mlx-serving gateway');
  mkdirSync(o.runDir, { recursive: true });
  const started = await Promise.all(Array.from({ length: o.workers }, (_, i) => startWorkerProcess(ps, {
    id: `w${i}`, address: `unix://${join(o.runDir, `w${i}.sock`)}`, model: { id: o.modelId, path: o.modelDir }, runtimes: 1, maxConcurrent: o.maxSequences,
    ...workerEnv(i, o), ...(o.signal !== undefined && { signal: o.signal }),
  })));
  const workers = started.map((w, i) => ({ id: `w${i}`, address: w.address }));
  const gw = await startGatewayProcess(ps, { listen: { host: '127.0.0.1', port: o.port }, auth: { apiKeys: [LIVE_API_KEY] }, workers, logLevel: 'warn', core: o.core }, o.runDir, o.signal);
  // Each worker node's ready line lists the devices its runtimes reported in `health`.
  const devices = [...new Set(started.flatMap((w) => (Array.isArray(w.ready.devices) ? w.ready.devices.map(String) : [])))].sort();
  return { baseUrl: gw.address, model: o.modelId, processes: [...started.map((w) => w.proc), gw.proc], device: devices.length > 0 ? devices.join(', ') : 'unknown' };
}
