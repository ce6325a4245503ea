// vitest globalSetup: the live tests' prerequisites, provided or checked once before any test runs,
// so that a missing one is one clear failure naming it and the command that provides it, not a
// stack trace in every file that needs it. In order: the python venv (python/setup.sh, skipped when
// MLX_SERVING_PYTHON names another interpreter), its dev tools (python/setup-dev.sh: schemathesis),
// the tiny model (python/build-model.sh, cached), nats-server, and the validators of deploy/
// (prometheus + promtool, systemd-analyze, docker-compose, shellcheck), each installed with apt-get
// when missing and apt-get can run, as .ci/run does. A run of only deploy/ files needs the deploy
// tools alone; a run of only core/, sim/ or reports/ files needs none.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import type { TestProject } from 'vitest/node';
import { ROOT_DIR } from './launch.js';
import { ensureModel } from './model.js';

class MissingPrerequisite extends Error {
  constructor(what: string, command: string, detail = '') {
    super(`missing test prerequisite: ${what}. Provide it with: ${command}${detail === '' ? '' : `\n${detail.trim().slice(-3000)}`}`);
    this.name = 'MissingPrerequisite';
  }
}

const log = (m: string) => process.stderr.write(`[test-prereqs] ${m}\n`);

function bash(script: string, timeoutMs: number): { ok: boolean; out: string } {
  const r = spawnSync('bash', [join(ROOT_DIR, script)], { cwd: ROOT_DIR, encoding: 'utf8', timeout: timeoutMs, stdio: ['ignore', 'pipe', 'pipe'] });
  return { ok: r.status === 0, out: `${r.stdout ?? ''}${r.stderr ?? ''}${r.error ? `\n${r.error.message}` : ''}` };
}

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' }).status === 0;
}

/**
 * `cmd` on PATH, installing the Debian package `pkg` when it is missing and apt-get can run (as root);
 * otherwise one MissingPrerequisite naming the package and where else to get the binary.
 */
function ensureAptCommand(cmd: string, pkg: string, elsewhere: string): void {
  if (has(cmd)) return;
  const install = `apt-get install -y ${pkg}`;
  const root = typeof process.getuid === 'function' && process.getuid() === 0;
  if (has('apt-get') && root) {
    log(`${cmd} not found: ${install}`);
    const r = spawnSync('sh', ['-c', `${install} || (apt-get update && ${install})`], { encoding: 'utf8', timeout: 300_000 });
    if (r.status === 0 && has(cmd)) return;
    throw new MissingPrerequisite(`${cmd} (not on PATH; apt-get could not install ${pkg})`, `${install}  (or ${elsewhere})`, `${r.stdout ?? ''}${r.stderr ?? ''}`);
  }
  throw new MissingPrerequisite(`${cmd} (not on PATH)`, `sudo ${install}  (or ${elsewhere})`);
}

/** nats-server on PATH, installing the Debian package when it is missing and apt-get can run. */
export function ensureNatsServer(): void {
  ensureAptCommand('nats-server', 'nats-server', 'put a nats-server binary from https://github.com/nats-io/nats-server/releases on PATH');
}

/**
 * The validators of deploy/, each from its Debian package: prometheus and promtool (`prometheus`: the
 * rules tests and a real Prometheus scraping a test gateway), systemd-analyze (`systemd`: the units),
 * docker-compose (`docker-compose`: `docker-compose config` on the compose file) and shellcheck (the
 * launchd install script).
 */
export function ensureDeployTools(): void {
  const prom = 'put prometheus and promtool from https://prometheus.io/download/ on PATH';
  ensureAptCommand('promtool', 'prometheus', prom);
  ensureAptCommand('prometheus', 'prometheus', prom);
  ensureAptCommand('systemd-analyze', 'systemd', 'run the deploy tests on a Linux host with systemd');
  ensureAptCommand('docker-compose', 'docker-compose', 'put docker-compose (or `docker compose` as docker-compose) on PATH');
  ensureAptCommand('shellcheck', 'shellcheck', 'put shellcheck from https://github.com/koalaman/shellcheck/releases on PATH');
  ensureAptCommand('kubectl', 'kubernetes-client', 'put kubectl (it renders deploy/k8s with `kubectl kustomize`, offline) on PATH');
}

export function ensurePrerequisites(): void {
  const t0 = Date.now();
  if ((process.env.MLX_SERVING_PYTHON ?? '').trim() === '') {
    const venv = bash('python/setup.sh', 1_200_000);
    if (!venv.ok) throw new MissingPrerequisite('the python virtualenv python/.venv (python 3.11 with the pinned requirements)', 'bash python/setup.sh', venv.out);
    const dev = bash('python/setup-dev.sh', 600_000);
    if (!dev.ok) throw new MissingPrerequisite('the python dev tools (schemathesis) in python/.venv', 'bash python/setup-dev.sh', dev.out);
  }
  try {
    ensureModel('tiny', log);
  } catch (err) {
    throw new MissingPrerequisite('the tiny model (python/.cache/models/tiny)', 'npm run build:model -- --size tiny --out python/.cache/models/tiny', (err as Error).message);
  }
  ensureNatsServer();
  ensureDeployTools();
  log(`ready in ${((Date.now() - t0) / 1000).toFixed(1)} s (venv, dev tools, tiny model, nats-server, deploy tools)`);
}

/** Whether the files this run selected include deploy/ (dashboards, rules, units: the deploy tools only). */
function needsDeploy(project: TestProject): boolean {
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  return filters.some((f) => /deploy/.test(f));
}

/** Whether the files this run selected can include a live test (any run without file filters can). */
function needsLive(project: TestProject): boolean {
  const filters = (project.vitest as unknown as { filenamePattern?: string[] }).filenamePattern ?? [];
  return filters.length === 0 || filters.some((f) => /live|scenarios|cli|^\.?\/?$/.test(f));
}

const DONE = Symbol.for('mlx-serving.test-prereqs.done');

export default function setup(project: TestProject): void {
  // Once per run: vitest calls a global setup for the root config and for each project.
  const g = globalThis as { [DONE]?: boolean };
  if (g[DONE] === true) return;
  if (needsLive(project)) ensurePrerequisites();
  else if (needsDeploy(project)) ensureDeployTools();
  else return;
  g[DONE] = true;
}
