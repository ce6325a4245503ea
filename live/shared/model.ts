// The project's own model (python/build-model.sh: a Llama-architecture model built from a fixed seed,
// loaded by mlx_lm.load like any other), built once per size into a git-ignored cache shared by every
// process: tests, `npm run cluster`, live scenarios, calibration, the reliability runs. A lock
// directory serialises builds across processes; build-model.sh reuses an up-to-date build (it stamps
// the output), so a cached model costs about a second. When built (the installed `mlx-serving`), the
// cache is the user's (install.ts cacheDir) and build-model.sh gets the resolved interpreter, so it
// never creates a venv inside the package.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { BUILT, cacheDir } from './install.js';
import { PYTHON_DIR, PYTHON_ENV_VAR, pythonBin } from './python.js';

/** tiny, small: CPU sizes (tests, this machine's live runs); gpu-1b, gpu-8b: bf16, for a GPU host (python/mlx_runtime/build_model.py). */
export const MODEL_SIZES = ['tiny', 'small', 'gpu-1b', 'gpu-8b'] as const;
export type ModelSize = (typeof MODEL_SIZES)[number];
export const isModelSize = (s: string): s is ModelSize => (MODEL_SIZES as readonly string[]).includes(s);
export const MODEL_CACHE_DIR = join(cacheDir(), 'models');

/**
 * A lock older than this was left by a killed build (small takes minutes to build on a CPU; gpu-1b
 * seconds and gpu-8b about a minute on the 16-core GPU host, writing 2.1 / 14 GB).
 */
const LOCK_STALE_MS: Record<ModelSize, number> = { tiny: 120_000, small: 600_000, 'gpu-1b': 600_000, 'gpu-8b': 1_200_000 };
const LOCK_WAIT_MS = 900_000;
const BUILD_TIMEOUT_MS = 1_800_000;

/** Builds (or reuses) the model of this size; returns its directory. Throws with build-model.sh's stderr. */
export function ensureModel(size: ModelSize, log: (m: string) => void = () => {}): string {
  mkdirSync(MODEL_CACHE_DIR, { recursive: true });
  const out = join(MODEL_CACHE_DIR, size);
  const lock = join(MODEL_CACHE_DIR, `.${size}.lock`);
  const deadline = Date.now() + LOCK_WAIT_MS;
  for (;;) {
    try {
      mkdirSync(lock);
      break;
    } catch {
      if (existsSync(lock) && Date.now() - statSync(lock).mtimeMs > LOCK_STALE_MS[size]) rmSync(lock, { recursive: true, force: true });
      if (Date.now() > deadline) throw new Error(`model build lock ${lock} held too long`);
      spawnSync('sleep', ['0.2']);
    }
  }
  try {
    log(`model: building or reusing ${size} in ${out}`);
    const r = spawnSync('bash', [join(PYTHON_DIR, 'build-model.sh'), '--size', size, '--out', out, '--if-changed'], { encoding: 'utf8', timeout: BUILD_TIMEOUT_MS, env: buildModelEnv() });
    if (r.status !== 0) throw new Error(`building the ${size} model failed (build-model.sh status ${r.status}): ${(r.stderr ?? '').slice(-2000)}`);
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
  return out;
}

/** build-model.sh's environment: when built, the interpreter pythonBin resolved (the script would otherwise make a venv). */
export function buildModelEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  return BUILT ? { ...env, [PYTHON_ENV_VAR]: pythonBin(env) } : env;
}
