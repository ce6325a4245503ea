// Which python runs the project's python code (the MLX runtime, mlx_lm.server, the model builder,
// calibration), and with what environment. By default the project's virtualenv, python/.venv (created
// by python/setup.sh); with MLX_SERVING_PYTHON set (a path, or a name looked up on PATH such as
// `python3`), that interpreter instead and the venv is neither required nor created: for a host whose
// MLX is installed some other way (the GPU host: mlx + mlx-cuda on PYTHONPATH).
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
export const VENV_PYTHON = `${PYTHON_DIR}.venv/bin/python`;
export const PYTHON_ENV_VAR = 'MLX_SERVING_PYTHON';

/** The configured interpreter (MLX_SERVING_PYTHON), or undefined for the venv. */
export function configuredPython(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[PYTHON_ENV_VAR]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The interpreter to spawn: MLX_SERVING_PYTHON when set, else python/.venv/bin/python. */
export function pythonBin(env: NodeJS.ProcessEnv = process.env): string {
  return configuredPython(env) ?? VENV_PYTHON;
}

/** The environment of a python child: python/ first on PYTHONPATH, an inherited PYTHONPATH kept after it. */
export function pythonEnv(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const inherited = env.PYTHONPATH;
  return { ...env, PYTHONPATH: inherited !== undefined && inherited !== '' ? `${PYTHON_DIR}:${inherited}` : PYTHON_DIR, PYTHONUNBUFFERED: '1' };
}

/** What MLX runs on, as the configured python sees it. */
export interface DeviceProbe {
  /** str(mx.default_device()), e.g. "Device(gpu, 0)". */
  readonly device: string;
  /** 'gpu' | 'cpu' (from the device string). */
  readonly kind: 'gpu' | 'cpu';
  /** 'cuda' | 'metal' | 'cpu': the backend behind the default device. */
  readonly backend: 'cuda' | 'metal' | 'cpu';
  /** sys.platform of the python ("linux", "darwin"). */
  readonly platform: string;
  readonly mlxVersion: string;
}

const PROBE = `
import json, sys
import mlx_runtime  # noqa: F401  (its OpenBLAS on Linux CPU, as the runtime has it)
import mlx.core as mx
dev = str(mx.default_device())
cuda = False
try:
    cuda = bool(mx.cuda.is_available())
except Exception:
    pass
metal = False
try:
    metal = bool(mx.metal.is_available())
except Exception:
    pass
print(json.dumps({"device": dev, "cuda": cuda, "metal": metal, "platform": sys.platform, "mlx": mx.__version__}))
`;

/** Asks the configured python which device MLX defaults to (a second or two: imports mlx). */
export function probeDevice(env: NodeJS.ProcessEnv = process.env): DeviceProbe {
  const r = spawnSync(pythonBin(env), ['-c', PROBE], { cwd: PYTHON_DIR, env: pythonEnv(env), encoding: 'utf8', timeout: 120_000 });
  if (r.status !== 0) throw new Error(`${pythonBin(env)} could not report its MLX device (status ${r.status ?? r.error?.message}): ${(r.stderr ?? '').slice(-1500)}`);
  const o = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as { device: string; cuda: boolean; metal: boolean; platform: string; mlx: string };
  return describeDevice(o.device, { cuda: o.cuda, metal: o.metal, platform: o.platform, mlxVersion: o.mlx });
}

/** A device string with what the probe knows of its backend. */
export function describeDevice(device: string, o: { cuda: boolean; metal: boolean; platform: string; mlxVersion: string }): DeviceProbe {
  const kind = /gpu/i.test(device) ? 'gpu' : 'cpu';
  const backend = kind === 'cpu' ? 'cpu' : o.cuda ? 'cuda' : o.metal || o.platform === 'darwin' ? 'metal' : 'cuda';
  return { device, kind, backend, platform: o.platform, mlxVersion: o.mlxVersion };
}
