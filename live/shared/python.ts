// Which python runs the project's python code (the MLX runtime, mlx_lm.server, the model builder,
// calibration), and with what environment. One rule, first match wins:
//   1. an explicit interpreter: a worker node's --python / `pythonPath` (passed to RuntimeProcess), the
//      --python of scenario and calibrate (which set MLX_SERVING_PYTHON);
//   2. MLX_SERVING_PYTHON (a path, or a name looked up on PATH such as `python3`): for a host whose
//      MLX is installed some other way (the GPU host: mlx + mlx-cuda on PYTHONPATH);
//   3. in a clone: python/.venv (created by python/setup.sh; the development path);
//   4. built (the installed `mlx-serving` command): python/.venv if someone made one there, else the
//      interpreter of the `mlx-serving-runtime` command found on PATH (the python package,
//      `pip install <package>/dist/python`); none of them: an error saying so.
// The runtime's code always comes from this package's python/ (first on PYTHONPATH), so the node and
// python sides are the same version; the python package supplies the interpreter and dependencies.
import { spawnSync } from 'node:child_process';
import { accessSync, closeSync, constants, openSync, readSync, statSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { BUILT } from './install.js';

export const PYTHON_DIR = fileURLToPath(new URL('../../python/', import.meta.url));
export const VENV_PYTHON = `${PYTHON_DIR}.venv/bin/python`;
export const PYTHON_ENV_VAR = 'MLX_SERVING_PYTHON';
/** The python package's console script (python/pyproject.toml, `[project.scripts]`). */
export const RUNTIME_COMMAND = 'mlx-serving-runtime';

/** No interpreter for the python runtime could be found (only when built: a clone uses its venv). */
export class PythonNotFoundError extends Error {
  constructor() {
    super(`no python for the MLX runtime: pass --python PATH, set ${PYTHON_ENV_VAR}=/path/to/python, or install the python package `
      + `so that ${RUNTIME_COMMAND} is on PATH (pip install ${PYTHON_DIR})`);
    this.name = 'PythonNotFoundError';
  }
}

/** The configured interpreter (MLX_SERVING_PYTHON), or undefined for the default. */
export function configuredPython(env: NodeJS.ProcessEnv = process.env): string | undefined {
  const v = env[PYTHON_ENV_VAR]?.trim();
  return v === undefined || v === '' ? undefined : v;
}

/** The interpreter to spawn when none is given explicitly (rules 2 to 4 above). Throws PythonNotFoundError. */
export function pythonBin(env: NodeJS.ProcessEnv = process.env): string {
  const configured = configuredPython(env);
  if (configured !== undefined) return configured;
  if (!BUILT || isExecutable(VENV_PYTHON)) return VENV_PYTHON;
  const found = runtimePythonOnPath(env);
  if (found === undefined) throw new PythonNotFoundError();
  return found;
}

/** The interpreter of the first `mlx-serving-runtime` on env.PATH (read from its #! line), if any. */
export function runtimePythonOnPath(env: NodeJS.ProcessEnv = process.env): string | undefined {
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (dir === '') continue;
    const script = join(dir, RUNTIME_COMMAND);
    if (!isExecutable(script)) continue;
    const python = interpreterOfScript(readHead(script));
    if (python !== undefined) return python;
  }
  return undefined;
}

/**
 * The interpreter a console script runs, from its first lines: `#!/path/python`, `#!/usr/bin/env
 * python3`, or pip's form for a path too long or with spaces (`#!/bin/sh` then `'''exec' "/path" "$0" "$@"`).
 */
export function interpreterOfScript(head: string): string | undefined {
  const [first = '', second = ''] = head.split('\n');
  if (!first.startsWith('#!')) return undefined;
  const words = first.slice(2).trim().split(/\s+/);
  if (words[0] === '/bin/sh') {
    const m = /^'''exec' (?:"([^"]+)"|(\S+))/.exec(second);
    return m?.[1] ?? m?.[2];
  }
  if (words[0]?.endsWith('/env') === true) return words.find((w, i) => i > 0 && !w.startsWith('-'));
  return words[0] === '' ? undefined : words[0];
}

/** Bytes of a console script read for its interpreter: its #! line and pip's /bin/sh trampoline. */
const SCRIPT_HEAD_BYTES = 4096;

function readHead(path: string): string {
  const fd = openSync(path, 'r');
  try {
    const buf = Buffer.alloc(SCRIPT_HEAD_BYTES);
    const n = readSync(fd, buf, 0, buf.length, 0);
    return buf.subarray(0, n).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

function isExecutable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
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
