// npm run cluster -- [--workers 2] [--model tiny|small|DIR] [--runtimes 1] [--port 8080] [--nats]
//                    [--api-key KEY] [--config cluster.json] [--verbose]
//
// A whole cluster on this machine: builds (or reuses) the model, starts N worker node processes (each
// with `--runtimes` python runtimes, on a UNIX socket in a temporary directory), and a gateway in
// this process; prints the gateway URL and an API key. With --nats it also starts a local
// `nats-server -js` and the workers register there (the gateway follows the registry instead of a
// static list). Ctrl-C / SIGTERM tears everything down: gateway, workers (which stop their runtimes),
// nats-server, the temporary directory. Workers also exit if this process dies (their stdin closes:
// live/shared/launch.ts starts them with --exit-with-parent).
//
// --config FILE: JSON with any of { workers, model, runtimes, port, nats, apiKey, worker, gateway }:
//   worker   WorkerNodeOptions fields for every worker (maxConcurrent, kvCapacityBytes, …)
//   gateway  live gateway config fields merged over the generated one (limits, core, logLevel, …)
// Flags override the file.
//
// npm run cluster -- restart --rolling [--min-healthy N] [--url URL --admin-key KEY]
//   asks a running cluster (found through its state file in the temp directory, or --url/--admin-key)
//   for a rolling restart: one worker process at a time is drained (no new work, in-flight finishes),
//   restarted on the same socket and waited for until healthy; a watchdog never takes a worker out
//   while fewer than --min-healthy (default 1) other workers are healthy. Exit 0 when every worker
//   was restarted.
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ConfigError } from '../../core/index.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { startNatsServer, type NatsServer } from '../registry/nats-server.js';
import { resolveLiveConfig } from '../shared/config.js';
import { startWorkerProcess as launchWorker } from '../shared/launch.js';
import { ensureModel, isModelSize, MODEL_SIZES } from '../shared/model.js';
import { ProcessSet, type ManagedProcess } from '../shared/processes.js';

const WORKERS_MAX = 64;
const WORKER_STOP_TIMEOUT_MS = 15_000;

interface ClusterFile {
  workers?: number;
  model?: string;
  runtimes?: number;
  port?: number;
  nats?: boolean;
  apiKey?: string;
  worker?: Record<string, unknown>;
  gateway?: Record<string, unknown>;
}

interface WorkerProc {
  readonly id: string;
  readonly proc: ManagedProcess;
  readonly address: string;
}

const STATE_FILE = join(tmpdir(), `mlx-serving-cluster-${process.getuid?.() ?? 0}.json`);

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    rolling: { type: 'boolean', default: false },
    'min-healthy': { type: 'string' },
    url: { type: 'string' },
    'admin-key': { type: 'string' },
    workers: { type: 'string' },
    model: { type: 'string' },
    runtimes: { type: 'string' },
    port: { type: 'string' },
    nats: { type: 'boolean' },
    'api-key': { type: 'string' },
    config: { type: 'string' },
    verbose: { type: 'boolean', default: false },
    help: { type: 'boolean', default: false },
  },
});

if (values.help) {
  process.stdout.write(readFileSync(fileURLToPath(import.meta.url), 'utf8').split('\n').filter((l) => l.startsWith('//')).map((l) => l.slice(3)).join('\n') + '\n');
  process.exit(0);
}

if (positionals[0] === 'restart') {
  await restartCommand();
}

async function restartCommand(): Promise<never> {
  if (!values.rolling) {
    process.stderr.write('only rolling restarts are supported: npm run cluster -- restart --rolling\n');
    process.exit(2);
  }
  let url = values.url;
  let key = values['admin-key'];
  if (url === undefined || key === undefined) {
    if (!existsSync(STATE_FILE)) {
      process.stderr.write(`no running cluster found (${STATE_FILE}); pass --url and --admin-key\n`);
      process.exit(2);
    }
    const st = JSON.parse(readFileSync(STATE_FILE, 'utf8')) as { url: string; adminKey: string };
    url ??= st.url;
    key ??= st.adminKey;
  }
  const body = values['min-healthy'] !== undefined ? { minHealthyWorkers: int('min-healthy', values['min-healthy'], 0, WORKERS_MAX) } : {};
  process.stderr.write(`[cluster] rolling restart via ${url}/admin/restart …\n`);
  const res = await fetch(`${url}/admin/restart?rolling=true&wait=true`, {
    method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body),
  });
  const out = await res.text();
  process.stdout.write(`${out}\n`);
  process.exit(res.status === 200 && (JSON.parse(out) as { state?: string }).state === 'done' ? 0 : 1);
}

const file: ClusterFile = values.config !== undefined ? (JSON.parse(readFileSync(values.config, 'utf8')) as ClusterFile) : {};
const nWorkers = int('workers', values.workers ?? file.workers ?? 2, 1, WORKERS_MAX);
const runtimes = int('runtimes', values.runtimes ?? file.runtimes ?? 1, 1, 16);
const port = int('port', values.port ?? file.port ?? 8080, 0, 65_535);
const modelArg = values.model ?? file.model ?? 'tiny';
const useNats = values.nats ?? file.nats ?? false;
const apiKey = values['api-key'] ?? file.apiKey ?? `sk-local-${randomBytes(12).toString('hex')}`;
const adminKey = `sk-admin-${randomBytes(12).toString('hex')}`;
const log = (msg: string) => process.stderr.write(`[cluster] ${msg}\n`);

function int(name: string, v: unknown, min: number, max: number): number {
  const n = typeof v === 'string' ? Number(v) : v;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max) {
    process.stderr.write(`--${name} must be an integer in [${min}, ${max}], got ${JSON.stringify(v)}\n`);
    process.exit(2);
  }
  return n;
}

/** A model size (tiny, small, gpu-1b, gpu-8b): built (or reused) in python/.cache/models; anything else: a model directory. */
function resolveModel(arg: string): { id: string; path: string } {
  if (isModelSize(arg)) return { id: arg, path: ensureModel(arg, log) };
  const path = resolve(arg);
  if (!existsSync(join(path, 'config.json'))) throw new Error(`--model ${arg}: not ${MODEL_SIZES.join('|')} and no model directory (config.json) there`);
  return { id: path.split('/').filter((p) => p.length > 0).at(-1)!, path };
}

const workers: WorkerProc[] = [];
const processes = new ProcessSet();
let gateway: Gateway | undefined;
let nats: NatsServer | undefined;
let dir: string | undefined;
let tearingDown: Promise<void> | undefined;

async function startWorkerProcess(id: string, model: { id: string; path: string }, natsUrl: string | undefined): Promise<WorkerProc> {
  const { proc, address } = await launchWorker(processes, {
    id, address: `unix://${join(dir!, `${id}.sock`)}`, model, runtimes,
    ...(file.worker !== undefined && { options: file.worker, configDir: dir! }),
    logLevel: values.verbose ? 'info' : 'warn',
    ...(natsUrl !== undefined && { nats: natsUrl }),
    onLine: (line) => process.stderr.write(`[${id}] ${line}\n`),
  });
  const w: WorkerProc = { id, proc, address };
  void proc.exited.then((e) => {
    if (tearingDown === undefined && workers.includes(w)) log(`worker ${id} exited (${e.signal ?? `code ${e.code}`})`);
  });
  workers.push(w);
  return w;
}

async function teardown(reason: string): Promise<void> {
  tearingDown ??= (async () => {
    log(`stopping (${reason}) …`);
    await gateway?.stop().catch((err: unknown) => log(`gateway stop failed: ${(err as Error).message}`));
    await Promise.all(workers.map((w) => w.proc.stop(WORKER_STOP_TIMEOUT_MS)));
    await processes.stopAll();
    await nats?.stop();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
    try {
      unlinkSync(STATE_FILE);
    } catch {
      // not written, or already gone
    }
    log('stopped');
  })();
  return tearingDown;
}

async function main(): Promise<void> {
  const model = resolveModel(modelArg);
  dir = mkdtempSync(join(tmpdir(), 'mlx-cluster-'));
  if (useNats) {
    nats = await startNatsServer();
    log(`nats-server -js at ${nats.url}`);
  }
  log(`starting ${nWorkers} worker${nWorkers > 1 ? 's' : ''} × ${runtimes} runtime${runtimes > 1 ? 's' : ''} of ${model.id} …`);
  const t0 = performance.now();
  await Promise.all(Array.from({ length: nWorkers }, (_, i) => startWorkerProcess(`w${i + 1}`, model, nats?.url)));
  log(`workers up in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const g = file.gateway ?? {};
  const config = resolveLiveConfig({
    logLevel: 'warn',
    ...g,
    listen: { host: '127.0.0.1', port, ...(g.listen as object | undefined) },
    auth: { apiKeys: [apiKey], adminKey, ...(g.auth as object | undefined) },
    workers: nats === undefined ? workers.map((w) => ({ id: w.id, address: w.address })) : [],
    ...(nats !== undefined && { registry: { type: 'nats', url: nats.url } }),
  });
  // Rolling restarts (POST /admin/restart): stop the worker process (it drains and exits), start a
  // new one with the same id on the same socket.
  const restartWorker = async (id: string) => {
    const old = workers.find((w) => w.id === id);
    if (old === undefined) throw new Error(`no worker process ${id}`);
    workers.splice(workers.indexOf(old), 1);
    await old.proc.stop(WORKER_STOP_TIMEOUT_MS);
    log(`worker ${id} stopped; starting it again …`);
    await startWorkerProcess(id, model, nats?.url);
    log(`worker ${id} restarted`);
  };
  gateway = buildGateway({ config, restartWorker });
  const url = await gateway.start();
  writeFileSync(STATE_FILE, JSON.stringify({ url, adminKey, pid: process.pid }), { mode: 0o600 });
  const base = `${url}/v1`;
  process.stdout.write([
    '',
    `mlx-serving cluster: ${nWorkers} worker(s) × ${runtimes} runtime(s), model "${model.id}" (${model.path})${nats !== undefined ? `, registry ${nats.url}` : ''}`,
    `  gateway    ${base}`,
    `  api key    ${apiKey}`,
    `  admin key  ${adminKey}`,
    '',
    `  curl ${base}/chat/completions -H "Authorization: Bearer ${apiKey}" -H "Content-Type: application/json" \\`,
    `    -d '{"model":"${model.id}","messages":[{"role":"user","content":"Hello"}],"max_tokens":32}'`,
    '',
    'Ctrl-C to stop.',
    '',
  ].join('\n'));
}

process.on('SIGINT', () => void teardown('SIGINT').then(() => process.exit(0)));
process.on('SIGTERM', () => void teardown('SIGTERM').then(() => process.exit(0)));
main().catch(async (err: unknown) => {
  log(err instanceof ConfigError ? err.message : `failed: ${(err as Error).stack ?? String(err)}`);
  await teardown('start-up failed');
  process.exit(1);
});
