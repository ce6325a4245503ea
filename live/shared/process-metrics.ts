// The Node process's own metrics, for every process of ours that serves /metrics (the gateway, and
// a worker node started with --metrics-address): prom-client's default set under the prefix
// `mlx_serving_` (names: PROCESS_METRIC in live/gateway/metrics-names.ts), on a registry passed in,
// never prom-client's global one.
import { createServer, type Server } from 'node:http';
import { collectDefaultMetrics, type Registry } from 'prom-client';
import { PROCESS_METRIC_PREFIX } from '../gateway/metrics-names.js';

/**
 * CPU, resident memory, file descriptors, heap, GC and event-loop lag on `registry`. Event-loop lag
 * comes from perf_hooks' monitorEventLoopDelay sampled every `eventLoopPrecisionMs` (prom-client's
 * default, 10 ms); it is the figure to watch when a process's one thread is the bottleneck. Once
 * per registry: prom-client refuses a second registration of the same names.
 */
export function registerProcessMetrics(registry: Registry, eventLoopPrecisionMs = 10): void {
  collectDefaultMetrics({ register: registry, prefix: PROCESS_METRIC_PREFIX, eventLoopMonitoringPrecision: eventLoopPrecisionMs });
}

export interface MetricsServer {
  /** http://host:port/metrics */
  readonly url: string;
  close(): Promise<void>;
}

/**
 * A bare HTTP server for a process that has no HTTP server of its own (the worker node speaks gRPC):
 * GET /metrics answers the registry's text format, anything else 404. No authentication: bind it
 * to an address only Prometheus reaches (the default elsewhere is loopback).
 */
export function serveMetrics(registry: Registry, host: string, port: number): Promise<MetricsServer> {
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || (req.url ?? '').split('?')[0] !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    registry.metrics().then(
      (text) => res.writeHead(200, { 'content-type': registry.contentType }).end(text),
      (err: unknown) => res.writeHead(500, { 'content-type': 'text/plain' }).end(`${(err as Error).message}\n`),
    );
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const addr = server.address();
      const bound = typeof addr === 'object' && addr !== null ? addr.port : port;
      const shown = host.includes(':') ? `[${host}]` : host;
      resolve({
        url: `http://${shown}:${bound}/metrics`,
        close: () => new Promise<void>((done) => server.close(() => done())),
      });
    });
  });
}

/** "host:port" → its parts (IPv6 as [::1]:9464); undefined when it is not one. */
export function parseHostPort(address: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(address);
  if (m === null) return undefined;
  const port = Number(m[3]);
  if (port > 65_535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}
