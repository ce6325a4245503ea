// Runs the gateway from a config file: tsx live/gateway/main.ts --config gateway.json (installed:
// `mlx-serving gateway`). API keys may also come from the environment (MLX_SERVING_API_KEYS,
// MLX_SERVING_ADMIN_KEY). SIGTERM/SIGINT: graceful shutdown (stop accepting, finish in-flight requests, exit).
import { parseArgs } from 'node:util';
import { Registry } from 'prom-client';
import { ConfigError } from '../../core/index.js';
import { loadLiveConfig } from '../shared/config.js';
import { buildGateway } from './gateway.js';

const GATEWAY_HELP = `usage: mlx-serving gateway [--config FILE] [--host H] [--port P] [--log-level L]

Runs the gateway: the OpenAI-compatible HTTP API in front of worker nodes (the workers are listed in
the config file, or found through its NATS registry). The config file is JSON, validated at start
(live/gateway/gateway.example.json; every field in live/gateway/README.md).

options:
  --config FILE     the config file (default gateway.json in the working directory)
  --host H          listen on this address (over the file's listen.host)
  --port P          listen on this port (over the file's listen.port; 0: any free port)
  --log-level L     fatal|error|warn|info|debug|trace|silent (over the file's logLevel)
  --help            this text

environment: MLX_SERVING_API_KEYS (comma-separated keys, added to the file's auth.apiKeys),
MLX_SERVING_ADMIN_KEY (over the file's auth.adminKey).

Prints one line {"ready":true,"url":…} on stdout once listening; logs are JSON lines on stderr.
SIGTERM/SIGINT: stop accepting, finish in-flight requests (limits.shutdownTimeoutMs), exit.
exit status: 0 after a clean shutdown, 1 when the shutdown failed, 2 on a bad config or bad usage.`;

function usageError(message: string): never {
  process.stderr.write(`${message}\n\n${GATEWAY_HELP}\n`);
  process.exit(2);
}

function parse() {
  try {
    return parseArgs({
      options: {
        config: { type: 'string', default: 'gateway.json' },
        host: { type: 'string' },
        port: { type: 'string' },
        'log-level': { type: 'string' },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (err) {
    return usageError((err as Error).message);
  }
}
const { values } = parse();
if (values.help) {
  process.stdout.write(`${GATEWAY_HELP}\n`);
  process.exit(0);
}
const port = values.port === undefined ? undefined : Number(values.port);
if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65_535)) usageError(`--port must be an integer in [0, 65535], got ${JSON.stringify(values.port)}`);

let config;
try {
  config = loadLiveConfig(values.config, process.env, {
    ...(values.host !== undefined && { host: values.host }),
    ...(port !== undefined && { port }),
    ...(values['log-level'] !== undefined && { logLevel: values['log-level'] }),
  });
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const registry = new Registry();
const gw = buildGateway({ config, registry });
const url = await gw.start();
gw.app.log.info({ url, workers: config.workers.map((w) => w.id) }, 'gateway listening');
// One machine-readable line for supervisors and benchmarks that spawn the gateway.
process.stdout.write(`${JSON.stringify({ ready: true, url })}\n`);

let exiting = false;
const shutdown = (signal: string) => {
  if (exiting) return;
  exiting = true;
  gw.app.log.info({ signal }, 'shutting down: finishing in-flight requests');
  gw.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      gw.app.log.error({ err }, 'shutdown failed');
      process.exit(1);
    },
  );
};
process.on('SIGTERM', () => shutdown('SIGTERM'));
process.on('SIGINT', () => shutdown('SIGINT'));
