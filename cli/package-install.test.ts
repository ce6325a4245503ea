// The package as a user installs it (issue 22): `npm pack` (which builds dist/ through prepack), `npm
// install <tarball>` into an empty directory, `pip install` of the python runtime the package ships,
// then the installed `mlx-serving` command only: a worker node on the tiny model, whose python is
// found through `mlx-serving-runtime` on PATH, and a gateway in front of it; one chat completion with
// the official openai client; SIGTERM to both and a clean exit (0) from each.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ROOT_DIR } from '../live/shared/install.js';
import { ProcessSet, waitForReadyLine, type ManagedProcess } from '../live/shared/processes.js';
import { pythonBin } from '../live/shared/python.js';
import { ensureTinyModel } from '../live/worker/test-support.js';

const STEP_TIMEOUT_MS = 240_000;
const READY_TIMEOUT_MS = 120_000;
const EXIT_TIMEOUT_MS = 20_000;

let dir: string;
let app: string;
let bin: string;
let pyBin: string;
const ps = new ProcessSet();

function run(command: string, args: readonly string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(command, args, { cwd, env, encoding: 'utf8', timeout: STEP_TIMEOUT_MS });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed (status ${r.status ?? r.error?.message}):\n${(r.stdout ?? '').slice(-2000)}\n${(r.stderr ?? '').slice(-3000)}`);
  return r.stdout;
}

/** The installed command's environment: no MLX_SERVING_PYTHON, the pip-installed scripts and this node on PATH. */
function userEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const { MLX_SERVING_PYTHON: _, ...env } = process.env;
  return { ...env, PATH: [pyBin, dirname(process.execPath), env.PATH ?? ''].join(delimiter), MLX_SERVING_CACHE_DIR: join(dir, 'cache'), ...extra };
}

async function exitCode(p: ManagedProcess): Promise<number | null> {
  p.child.kill('SIGTERM');
  const timeout = new Promise<never>((_, reject) => setTimeout(() => reject(new Error(`${p.name} did not exit within ${EXIT_TIMEOUT_MS} ms of SIGTERM\n${p.stderrTail()}`)), EXIT_TIMEOUT_MS).unref());
  const { code, signal } = await Promise.race([p.exited, timeout]);
  expect(signal, `${p.name} was killed by a signal:\n${p.stderrTail()}`).toBeNull();
  return code;
}

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'mlx-serving-pkg-'));
  // 1. The tarball, as `npm pack` makes it (prepack runs the build).
  const packed = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', dir], ROOT_DIR)) as { filename: string }[];
  const tarball = join(dir, packed[0]!.filename);
  // 2. Installed into an empty project, from the registry's cache where it can.
  app = join(dir, 'app');
  mkdirSync(app);
  writeFileSync(join(app, 'package.json'), `${JSON.stringify({ name: 'app', private: true, version: '0.0.0' })}\n`);
  run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund'], app);
  bin = join(app, 'node_modules', '.bin', 'mlx-serving');
  // 3. The python runtime the package ships, pip-installed (its dependencies are already in the
  //    interpreter: --no-deps) into a directory whose bin/ then holds mlx-serving-runtime.
  const target = join(dir, 'site');
  run(pythonBin(), ['-m', 'pip', 'install', '--disable-pip-version-check', '-q', '--no-deps', '--target', target, join(app, 'node_modules', 'mlx-serving', 'dist', 'python')], dir);
  pyBin = join(target, 'bin');
}, 2 * STEP_TIMEOUT_MS);

afterAll(async () => {
  await ps.stopAll();
  rmSync(dir, { recursive: true, force: true });
});

describe('the installed mlx-serving command', () => {
  it('answers --version and --help without python', () => {
    const version = (JSON.parse(readFileSync(join(ROOT_DIR, 'package.json'), 'utf8')) as { version: string }).version;
    expect(run(bin, ['--version'], app, userEnv()).trim()).toBe(version);
    for (const sub of ['gateway', 'worker', 'cluster', 'scenario', 'calibrate', 'build-model', 'reliability']) {
      expect(run(bin, [sub, '--help'], app, userEnv()).length, sub).toBeGreaterThan(100);
    }
    const unknown = spawnSync(bin, ['no-such-command'], { cwd: app, env: userEnv(), encoding: 'utf8' });
    expect(unknown.status).toBe(2);
  });

  it('says how to provide python when it finds none (exit 2)', () => {
    const { MLX_SERVING_PYTHON: _, ...env } = process.env;
    const r = spawnSync(bin, ['worker', '--id', 'w0', '--model', `tiny=${ensureTinyModel()}`], {
      cwd: app, env: { ...env, PATH: [dirname(process.execPath), '/usr/bin', '/bin'].join(delimiter) }, encoding: 'utf8', timeout: 60_000,
    });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain('mlx-serving-runtime');
  });

  it('serves a chat completion through an installed gateway and worker node, and both exit 0 on SIGTERM', async () => {
    const socket = join(dir, 'w1.sock');
    // --metrics-address through its environment variable (issue 18): the node's process metrics
    const worker = ps.start('worker node', bin, ['worker', '--id', 'w1', '--address', `unix://${socket}`, '--model', `tiny=${ensureTinyModel()}`], {
      cwd: app, env: userEnv({ MLX_SERVING_LOG_LEVEL: 'warn', MLX_SERVING_WORKER_METRICS_ADDRESS: '127.0.0.1:0' }),
    });
    const workerReady = await waitForReadyLine(worker, READY_TIMEOUT_MS);
    expect(workerReady.address).toBe(`unix://${socket}`);
    expect(String(workerReady.metrics)).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
    expect(await (await fetch(String(workerReady.metrics))).text()).toMatch(/^mlx_serving_nodejs_eventloop_lag_seconds \S+$/m);

    const config = join(dir, 'gateway.json');
    writeFileSync(config, `${JSON.stringify({ listen: { host: '127.0.0.1', port: 8080 }, auth: { apiKeys: ['sk-package-test'] }, workers: [{ id: 'w1', address: `unix://${socket}` }], logLevel: 'warn' })}\n`);
    // The environment over the file (port 8080 → any free port), as `mlx-serving --help` documents.
    const gateway = ps.start('gateway', bin, ['gateway', '--config', config], { cwd: app, env: userEnv({ MLX_SERVING_PORT: '0' }) });
    const gatewayReady = await waitForReadyLine(gateway, READY_TIMEOUT_MS);
    const url = String(gatewayReady.url).replace('localhost', '127.0.0.1');
    expect(url).not.toContain(':8080');

    const health = await fetch(`${url}/health`);
    expect(health.status).toBe(200);
    const client = new OpenAI({ baseURL: `${url}/v1`, apiKey: 'sk-package-test', maxRetries: 0, timeout: 60_000 });
    const completion = await client.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Once upon a time' }], max_tokens: 8, temperature: 0 });
    expect(completion.choices[0]?.message.content?.length).toBeGreaterThan(0);
    expect(completion.usage?.completion_tokens).toBeGreaterThan(0);
    // the installed gateway's process metrics, on its own registry (issue 18)
    const scrape = await (await fetch(`${url}/metrics`, { headers: { authorization: 'Bearer sk-package-test' } })).text();
    expect(scrape).toMatch(/^mlx_serving_nodejs_eventloop_lag_seconds \S+$/m);
    expect(scrape).toMatch(/^mlx_serving_process_cpu_seconds_total \S+$/m);

    expect(await exitCode(gateway)).toBe(0);
    expect(await exitCode(worker)).toBe(0);
  }, 2 * READY_TIMEOUT_MS + 2 * EXIT_TIMEOUT_MS);
});
