// startWorker: a worker node (runtimes + governance) behind its gRPC server, optionally registered in
// NATS. The one call the CLI, the tests and main.ts use.
//
//   const w = await startWorker({ id: 'w1', models: [{ id: 'tiny', path }] }, { address: 'unix:///tmp/w1.sock' });
//   …  await w.stop();
import { systemClock, type Clock } from '../shared/clock.js';
import { startNatsRegistration, type NatsRegistration } from '../registry/nats-registry.js';
import { createTracing, type Tracing } from '../shared/tracing.js';
import { resolveWorkerConfig, type WorkerNodeOptions } from './config.js';
import { WorkerNode, type WorkerLogger } from './worker-node.js';
import { startWorkerServer, type WorkerServer } from './worker-server.js';

export interface StartWorkerOptions {
  /** "127.0.0.1:0" (a free port, the default), "host:port" or "unix:///abs/path.sock". */
  readonly address?: string;
  /** The address other machines use to reach this worker (default: the bound address). */
  readonly advertiseAddress?: string;
  readonly nats?: { readonly url: string; readonly heartbeatIntervalMs?: number; readonly bucket?: string };
  readonly clock?: Clock;
  readonly log?: WorkerLogger;
  /** OpenTelemetry traces (live/shared/tracing.ts); default: what the OTEL_* variables say (off unless set). Shut down by stop(). */
  readonly tracing?: Tracing;
}

export interface Worker {
  readonly id: string;
  readonly address: string;
  readonly node: WorkerNode;
  readonly server: WorkerServer;
  readonly registration: NatsRegistration | undefined;
  /** Drains (up to graceMs), deregisters, closes the server, stops the runtimes. */
  stop(graceMs?: number): Promise<void>;
}

export const silentLog: WorkerLogger = { info: () => undefined, warn: () => undefined };

export async function startWorker(options: WorkerNodeOptions, opts: StartWorkerOptions = {}): Promise<Worker> {
  const cfg = resolveWorkerConfig(options);
  const node = new WorkerNode(cfg, opts.clock ?? systemClock, opts.log ?? silentLog);
  const tracing = opts.tracing ?? createTracing({ serviceName: 'mlx-serving-worker' });
  try {
    await node.start();
  } catch (err) {
    await node.stop(0);
    throw err;
  }
  let server: WorkerServer;
  try {
    server = await startWorkerServer(node, opts.address ?? '127.0.0.1:0', tracing);
  } catch (err) {
    await node.stop(0);
    throw err;
  }
  let registration: NatsRegistration | undefined;
  if (opts.nats !== undefined) {
    try {
      registration = await startNatsRegistration(
        { id: cfg.id, address: opts.advertiseAddress ?? server.address, status: () => node.status(), models: () => node.modelInfos() },
        opts.nats.url,
        {
          ...(opts.nats.heartbeatIntervalMs !== undefined && { heartbeatIntervalMs: opts.nats.heartbeatIntervalMs }), ...(opts.nats.bucket !== undefined && { bucket: opts.nats.bucket }),
          onError: (err) => opts.log?.warn({ worker: cfg.id, err: err.message }, 'registry heartbeat failed'),
        },
      );
    } catch (err) {
      server.kill();
      await node.stop(0);
      throw err;
    }
  }
  if (registration !== undefined) {
    const reg = registration;
    node.onModelsChanged = () => {
      reg.heartbeat().catch((err: unknown) => opts.log?.warn({ worker: cfg.id, err: (err as Error).message }, 'registry heartbeat failed'));
    };
  }
  let stopping: Promise<void> | undefined;
  return {
    id: cfg.id,
    address: server.address,
    node,
    server,
    registration,
    stop(graceMs = 5_000) {
      stopping ??= (async () => {
        node.setDraining(true);
        await registration?.stop();
        await node.drained(graceMs);
        await server.stop();
        await node.stop(0);
        await tracing.shutdown();
      })();
      return stopping;
    },
  };
}
