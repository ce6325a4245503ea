// Runs a worker node as a process (installed: `mlx-serving worker`, the same flags):
//   tsx live/worker/main.ts --id w1 --address unix:///tmp/w1.sock --model tiny=/path/to/model
//     [--model other=/path --runtimes 2 --max-concurrent 64 --kv-capacity-bytes N]
//     [--nats nats://127.0.0.1:4222 --heartbeat-ms 5000 --advertise host:port] [--config worker.json]
//     [--exit-with-parent]  (shut down when stdin closes: the parent that spawned us died)
//     [--metrics-address HOST:PORT]  (serve the node process's metrics at http://HOST:PORT/metrics)
//     [--python PATH]  (the runtimes' interpreter; default MLX_SERVING_PYTHON, else python/.venv/bin/python
//                       in a clone, mlx-serving-runtime's on PATH when built: live/shared/python.ts)
// `--config` is a JSON WorkerNodeOptions (see config.ts); flags override it.
// Prints one line `{"ready":true,"id":…,"address":…}` on stdout once serving (parents wait for it);
// logs go to stderr as JSON lines. SIGTERM/SIGINT: drain, deregister, stop the runtimes, exit.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { parseHostPort, registerProcessMetrics, serveMetrics, type MetricsServer } from '../shared/process-metrics.js';
import type { WorkerNodeOptions } from './config.js';
import { startWorker } from './worker.js';
import type { WorkerLogger } from './worker-node.js';

const WORKER_HELP = `usage: mlx-serving worker --id ID --model ID=DIR [options]

Runs a worker node: a gRPC server in front of python MLX runtimes, one or more per model, on this
machine. The gateway reaches it at --address (listed in the gateway's config), or finds it through
NATS (--nats).

options:
  --id ID                 the worker's id (required, here or in --config)
  --model ID=DIR          serve the MLX model in DIR as ID (repeatable)
  --address A             listen on host:port or unix:///path.sock (default 127.0.0.1:0: any free port)
  --advertise HOST:PORT   the address to register in NATS (default --address)
  --runtimes N            python runtimes per model (default 1)
  --max-concurrent N      sequences in flight on this node
  --kv-capacity-bytes N   the KV-cache memory the node may use
  --model-memory-bytes N  memory for model weights: Stats reports it less the loaded models (memory_free_bytes),
                          for the gateway's placement of models it loads on demand (default: not reported)
  --nats URL              register in this NATS server (nats://host:4222) instead of a static list
  --heartbeat-ms N        NATS heartbeat interval
  --python PATH           the runtimes' interpreter (see below)
  --config FILE           JSON WorkerNodeOptions (live/worker/config.ts); flags override it
  --log-level L           info|warn|error|silent (default info)
  --metrics-address H:P   serve this process's metrics (CPU, memory, event-loop lag) for Prometheus at
                          http://H:P/metrics, without authentication (default: none)
  --exit-with-parent      shut down when stdin closes
  --help                  this text

python: --python PATH, else MLX_SERVING_PYTHON, else (in a clone) python/.venv/bin/python, else the
interpreter of mlx-serving-runtime found on PATH (pip install the package's python/ directory).

Prints one line {"ready":true,"id":…,"address":…} on stdout once serving; logs are JSON lines on
stderr. SIGTERM/SIGINT: drain, deregister, stop the runtimes, exit.
exit status: 0 after a clean shutdown, 1 when the shutdown failed or timed out, 2 on bad usage or
when the node could not start (no python, a model that does not load, an address in use).`;

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${WORKER_HELP}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        id: { type: 'string' },
        address: { type: 'string', default: '127.0.0.1:0' },
        advertise: { type: 'string' },
        model: { type: 'string', multiple: true, default: [] },
        runtimes: { type: 'string', default: '1' },
        'max-concurrent': { type: 'string' },
        'kv-capacity-bytes': { type: 'string' },
        'model-memory-bytes': { type: 'string' },
        nats: { type: 'string' },
        'heartbeat-ms': { type: 'string' },
        config: { type: 'string' },
        'log-level': { type: 'string', default: 'info' },
        'exit-with-parent': { type: 'boolean', default: false },
        'metrics-address': { type: 'string' },
        python: { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
}
const { values } = parse();
if (values.help) {
  process.stdout.write(`${WORKER_HELP}\n`);
  process.exit(0);
}

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
const nodeOptions: WorkerNodeOptions = {
  ...fromFile,
  id,
  ...(models.length > 0 && { models }),
  ...(values['max-concurrent'] !== undefined && { maxConcurrent: Number(values['max-concurrent']) }),
  ...(values['kv-capacity-bytes'] !== undefined && { kvCapacityBytes: Number(values['kv-capacity-bytes']) }),
  ...(values['model-memory-bytes'] !== undefined && { modelMemoryBytes: Number(values['model-memory-bytes']) }),
  ...(values.python !== undefined && { pythonPath: values.python }),
};

const metricsAt = values['metrics-address'] === undefined ? undefined : (parseHostPort(values['metrics-address']) ?? usageError(`--metrics-address must be HOST:PORT, got ${JSON.stringify(values['metrics-address'])}`));

let worker;
try {
  worker = await startWorker(nodeOptions, {
    address: values.address,
    ...(values.advertise !== undefined && { advertiseAddress: values.advertise }),
    ...(values.nats !== undefined && { nats: { url: values.nats, ...(values['heartbeat-ms'] !== undefined && { heartbeatIntervalMs: Number(values['heartbeat-ms']) }) } }),
    log,
  });
} catch (err) {
  fail(`worker ${id} failed to start: ${(err as Error).message}`);
}
let metrics: MetricsServer | undefined;
if (metricsAt !== undefined) {
  const registry = new Registry();
  registerProcessMetrics(registry);
  try {
    metrics = await serveMetrics(registry, metricsAt.host, metricsAt.port);
  } catch (err) {
    await worker.stop(10_000).catch(() => undefined);
    fail(`worker ${id}: --metrics-address ${values['metrics-address']}: ${(err as Error).message}`);
  }
}
process.stdout.write(`${JSON.stringify({ ready: true, id: worker.id, address: worker.address, devices: worker.node.devices(), ...(metrics !== undefined && { metrics: metrics.url }) })}\n`);
log.info({ worker: worker.id, address: worker.address, models: worker.node.modelInfos().map((m) => m.id) }, 'worker serving');

let exiting = false;
const shutdown = (signal: string) => {
  if (exiting) return;
  exiting = true;
  log.info({ worker: worker.id, signal }, 'worker shutting down: draining');
  const force = setTimeout(() => process.exit(1), 15_000);
  force.unref();
  void metrics?.close();
  worker.stop(10_000).then(() => process.exit(0), () => process.exit(1));
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
if (values['exit-with-parent']) {
  process.stdin.on('close', () => shutdown('parent exited'));
  process.stdin.on('end', () => shutdown('parent exited'));
  process.stdin.resume();
}
