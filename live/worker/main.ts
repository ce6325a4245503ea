// Runs a worker node as a process:
//   tsx live/worker/main.ts --id w1 --address unix:///tmp/w1.sock --model tiny=/path/to/model
//     [--model other=/path --runtimes 2 --max-concurrent 64 --kv-capacity-bytes N]
//     [--nats nats://127.0.0.1:4222 --heartbeat-ms 5000 --advertise host:port] [--config worker.json]
//     [--exit-with-parent]  (shut down when stdin closes: the parent that spawned us died)
//     [--python PATH]  (the runtimes' interpreter; default MLX_SERVING_PYTHON, else python/.venv/bin/python)
// `--config` is a JSON WorkerNodeOptions (see config.ts); flags override it.
// Prints one line `{"ready":true,"id":…,"address":…}` on stdout once serving (parents wait for it);
// logs go to stderr as JSON lines. SIGTERM/SIGINT: drain, deregister, stop the runtimes, exit.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import type { WorkerNodeOptions } from './config.js';
import { startWorker } from './worker.js';
import type { WorkerLogger } from './worker-node.js';

const { values } = parseArgs({
  options: {
    id: { type: 'string' },
    address: { type: 'string', default: '127.0.0.1:0' },
    advertise: { type: 'string' },
    model: { type: 'string', multiple: true, default: [] },
    runtimes: { type: 'string', default: '1' },
    'max-concurrent': { type: 'string' },
    'kv-capacity-bytes': { type: 'string' },
    nats: { type: 'string' },
    'heartbeat-ms': { type: 'string' },
    config: { type: 'string' },
    'log-level': { type: 'string', default: 'info' },
    'exit-with-parent': { type: 'boolean', default: false },
    python: { type: 'string' },
  },
});

const quiet = values['log-level'] === 'silent' || values['log-level'] === 'error';
const log: WorkerLogger = {
  info: (o, msg) => {
    if (!quiet && values['log-level'] !== 'warn') process.stderr.write(`${JSON.stringify({ level: 'info', time: Date.now(), ...o, msg })}\n`);
  },
  warn: (o, msg) => {
    if (!quiet) process.stderr.write(`${JSON.stringify({ level: 'warn', time: Date.now(), ...o, msg })}\n`);
  },
};

function fail(message: string): never {
  process.stderr.write(`${message}\n`);
  process.exit(2);
}

const fromFile: Partial<WorkerNodeOptions> = values.config !== undefined ? (JSON.parse(readFileSync(values.config, 'utf8')) as Partial<WorkerNodeOptions>) : {};
const runtimes = Number(values.runtimes);
const models = values.model.map((m) => {
  const eq = m.indexOf('=');
  if (eq <= 0) fail(`--model must be ID=PATH, got ${JSON.stringify(m)}`);
  return { id: m.slice(0, eq), path: m.slice(eq + 1), runtimes };
});
const id = values.id ?? fromFile.id ?? fail('--id is required');
const options: WorkerNodeOptions = {
  ...fromFile,
  id,
  ...(models.length > 0 && { models }),
  ...(values['max-concurrent'] !== undefined && { maxConcurrent: Number(values['max-concurrent']) }),
  ...(values['kv-capacity-bytes'] !== undefined && { kvCapacityBytes: Number(values['kv-capacity-bytes']) }),
  ...(values.python !== undefined && { pythonPath: values.python }),
};

let worker;
try {
  worker = await startWorker(options, {
    address: values.address,
    ...(values.advertise !== undefined && { advertiseAddress: values.advertise }),
    ...(values.nats !== undefined && { nats: { url: values.nats, ...(values['heartbeat-ms'] !== undefined && { heartbeatIntervalMs: Number(values['heartbeat-ms']) }) } }),
    log,
  });
} catch (err) {
  fail(`worker ${id} failed to start: ${(err as Error).message}`);
}
process.stdout.write(`${JSON.stringify({ ready: true, id: worker.id, address: worker.address, devices: worker.node.devices() })}\n`);
log.info({ worker: worker.id, address: worker.address, models: worker.node.modelInfos().map((m) => m.id) }, 'worker serving');

let exiting = false;
const shutdown = (signal: string) => {
  if (exiting) return;
  exiting = true;
  log.info({ worker: worker.id, signal }, 'worker shutting down: draining');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  worker.stop(10_000).then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (values['exit-with-parent']) {
  process.stdin.on('close', () => shutdown('parent exited'));
  process.stdin.on('end', () => shutdown('parent exited'));
  process.stdin.resume();
}
