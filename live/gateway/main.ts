// Runs the gateway from a config file: tsx live/gateway/main.ts --config gateway.json
// API keys may also come from the environment (MLX_SERVING_API_KEYS, MLX_SERVING_ADMIN_KEY).
// SIGTERM/SIGINT: graceful shutdown (stop accepting, finish in-flight requests, exit).
import { parseArgs } from 'node:util';
import { collectDefaultMetrics, Registry } from 'prom-client';
import { ConfigError } from '../../core/index.js';
import { loadLiveConfig } from '../shared/config.js';
import { buildGateway } from './gateway.js';

const { values } = parseArgs({ options: { config: { type: 'string', default: 'gateway.json' } } });

let config;
try {
  config = loadLiveConfig(values.config, process.env);
} catch (err) {
  if (err instanceof ConfigError) {
    process.stderr.write(`${err.message}\n`);
    process.exit(2);
  }
  throw err;
}

const registry = new Registry();
collectDefaultMetrics({ register: registry, prefix: 'mlx_serving_process_' });
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
