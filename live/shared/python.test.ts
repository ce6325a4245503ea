// The python interpreter override (MLX_SERVING_PYTHON) through the real scripts and processes: the
// model builder runs without the venv's setup when it is set, and a runtime spawned with it (a wrapper
// that records its calls, then execs the venv's python) reports its MLX device in `health`.
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, copyFileSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RuntimeProcess } from '../worker/runtime-process.js';
import { ensureTinyModel } from '../worker/test-support.js';
import { configuredPython, describeDevice, probeDevice, PYTHON_DIR, pythonBin, pythonEnv, VENV_PYTHON } from './python.js';

let dir = '';
let wrapper = '';
let calls = '';
beforeAll(() => {
  ensureTinyModel();
  dir = mkdtempSync(join(tmpdir(), 'mlx-python-'));
  wrapper = join(dir, 'python-wrapper');
  calls = join(dir, 'calls.log');
  writeFileSync(wrapper, `#!/bin/sh\necho "$*" >> '${calls}'\nexec '${VENV_PYTHON}' "$@"\n`);
  chmodSync(wrapper, 0o755);
}, 600_000);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const wrapperCalls = () => {
  try {
    return readFileSync(calls, 'utf8').split('\n').filter((l) => l.length > 0);
  } catch {
    return [];
  }
};

describe('MLX_SERVING_PYTHON', () => {
  it('selects the interpreter; unset or empty means the venv', () => {
    expect(configuredPython({})).toBeUndefined();
    expect(configuredPython({ MLX_SERVING_PYTHON: ' ' })).toBeUndefined();
    expect(pythonBin({})).toBe(VENV_PYTHON);
    expect(pythonBin({ MLX_SERVING_PYTHON: 'python3' })).toBe('python3');
    expect(pythonEnv({ PYTHONPATH: '/opt/site' }).PYTHONPATH).toBe(`${PYTHON_DIR}:/opt/site`);
    expect(pythonEnv({}).PYTHONPATH).toBe(PYTHON_DIR);
  });

  it('python/build-model.sh uses it and never runs setup.sh (the venv is not needed)', () => {
    // A copy of python/ whose setup.sh fails: only a run that skips it can succeed.
    const py = join(dir, 'python');
    execFileSync('mkdir', ['-p', py]);
    for (const f of ['build-model.sh', 'interpreter.sh']) copyFileSync(join(PYTHON_DIR, f), join(py, f));
    writeFileSync(join(py, 'setup.sh'), '#!/usr/bin/env bash\necho "setup.sh must not run" >&2\nexit 9\n');
    symlinkSync(join(PYTHON_DIR, 'mlx_runtime'), join(py, 'mlx_runtime'));
    const run = (env: NodeJS.ProcessEnv) => spawnSync('bash', [join(py, 'build-model.sh'), '--size', 'gpu-1b', '--describe'], { env, encoding: 'utf8', timeout: 120_000 });
    const { MLX_SERVING_PYTHON: _, ...base } = process.env;
    const withIt = run({ ...base, MLX_SERVING_PYTHON: wrapper });
    expect(withIt.stderr).not.toMatch(/setup\.sh must not run/);
    expect(withIt.status).toBe(0);
    expect(JSON.parse(withIt.stdout)).toMatchObject({ size: 'gpu-1b', layers: 16, dtype: 'bfloat16' });
    expect(wrapperCalls().some((l) => l.includes('mlx_runtime.build_model'))).toBe(true);
    const without = run(base);
    expect(without.status).toBe(9);
    const missing = run({ ...base, MLX_SERVING_PYTHON: join(dir, 'no-such-python') });
    expect(missing.status).toBe(2);
    expect(missing.stderr).toMatch(/no such interpreter/);
  }, 180_000);

  it('a runtime spawned with it loads the tiny model and reports its device in health', async () => {
    const saved = process.env.MLX_SERVING_PYTHON;
    process.env.MLX_SERVING_PYTHON = wrapper;
    const rt = new RuntimeProcess({ modelPath: ensureTinyModel(), modelId: 'tiny', maxSequences: 2, readyTimeoutMs: 120_000 });
    try {
      await rt.ready();
      expect(rt.health?.device).toBe('Device(cpu, 0)');
      expect(rt.health?.status).toBe('ok');
      const r = await rt.client.generate({ request_id: 'py-1', prompt: 'Hello there', max_tokens: 4, temperature: 0, stream: false }, () => undefined, { timeoutMs: 60_000 }).result;
      expect(r.usage.completion_tokens).toBe(4);
      expect(wrapperCalls().some((l) => l.includes('mlx_runtime.server'))).toBe(true);
      // The probe the live profile choice uses, through the same interpreter.
      const probe = probeDevice();
      expect(probe).toMatchObject({ device: 'Device(cpu, 0)', kind: 'cpu', backend: 'cpu' });
    } finally {
      await rt.stop();
      if (saved === undefined) delete process.env.MLX_SERVING_PYTHON;
      else process.env.MLX_SERVING_PYTHON = saved;
    }
  }, 180_000);

  it('names the backend of a GPU device', () => {
    const o = { cuda: false, metal: false, platform: 'linux', mlxVersion: '0.32.4' };
    expect(describeDevice('Device(gpu, 0)', { ...o, cuda: true }).backend).toBe('cuda');
    expect(describeDevice('Device(gpu, 0)', { ...o, metal: true, platform: 'darwin' }).backend).toBe('metal');
    expect(describeDevice('Device(cpu, 0)', o)).toMatchObject({ kind: 'cpu', backend: 'cpu' });
  });
});
