// Starting the live processes as separate OS processes, each in its own process group (ProcessSet):
// a worker node (live/worker/main.ts, which starts its python runtimes) and a gateway
// (live/gateway/main.ts from a config file), through tsx in a clone and as compiled JS when built
// (install.ts). Both print one `{"ready":true,…}` line when serving; these helpers wait for it.
// Used by `npm run cluster`, live scenarios, the reliability scenarios and the soak.
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { nodeEntryArgs, ROOT_DIR } from './install.js';
import { waitForReadyLine, type ManagedProcess, type ProcessSet } from './processes.js';

export { ROOT_DIR };
const READY_TIMEOUT_MS = 180_000;

export interface WorkerProcessOptions {
  readonly id: string;
  /** e.g. unix:///tmp/dir/w1.sock (the worker removes a stale socket file first). */
  readonly address: string;
  readonly model: { readonly id: string; readonly path: string };
  readonly runtimes?: number;
  readonly maxConcurrent?: number;
  /** Written as the worker's --config file (WorkerNodeOptions fields), beside `configDir`. */
  readonly options?: Record<string, unknown>;
  readonly configDir?: string;
  readonly logLevel?: 'info' | 'warn' | 'silent';
  /** Register in this NATS server's registry (nats://host:port) instead of being listed statically. */
  readonly nats?: string;
  readonly signal?: AbortSignal;
  readonly onLine?: (line: string) => void;
  /** The node's environment (its python runtimes inherit it; e.g. CUDA_VISIBLE_DEVICES). Default: this process's. */
  readonly env?: NodeJS.ProcessEnv;
}

export interface StartedProcess {
  readonly proc: ManagedProcess;
  /** The worker's gRPC address, or the gateway's base URL. */
  readonly address: string;
  /** The process's ready line (a worker node's lists `devices`: the MLX devices of its runtimes). */
  readonly ready: Record<string, unknown>;
}

export async function startWorkerProcess(ps: ProcessSet, o: WorkerProcessOptions): Promise<StartedProcess> {
  const args = [
    ...nodeEntryArgs('live/worker/main'), '--id', o.id, '--address', o.address,
    '--model', `${o.model.id}=${o.model.path}`, '--runtimes', String(o.runtimes ?? 1), '--log-level', o.logLevel ?? 'warn',
    // Shut down when our end of its stdin closes: it never outlives this process.
    '--exit-with-parent',
  ];
  if (o.nats !== undefined) args.push('--nats', o.nats);
  if (o.maxConcurrent !== undefined) args.push('--max-concurrent', String(o.maxConcurrent));
  if (o.options !== undefined) {
    if (o.configDir === undefined) throw new Error(`worker ${o.id}: options need a configDir for the config file`);
    const path = join(o.configDir, `${o.id}.worker.json`);
    writeFileSync(path, JSON.stringify({ ...o.options, id: o.id }));
    args.push('--config', path);
  }
  const proc = ps.start(`worker node ${o.id}`, process.execPath, args, { cwd: ROOT_DIR, stdinPipe: true, ...(o.env !== undefined && { env: o.env }), ...(o.onLine !== undefined && { onLine: o.onLine }) });
  const ready = await waitForReadyLine(proc, READY_TIMEOUT_MS, o.signal);
  return { proc, address: typeof ready.address === 'string' ? ready.address : o.address, ready };
}

/** Writes `config` (a live gateway config) to `dir`/gateway.json and starts the gateway on it. */
export async function startGatewayProcess(ps: ProcessSet, config: Record<string, unknown>, dir: string, signal?: AbortSignal): Promise<StartedProcess> {
  const path = join(dir, 'gateway.json');
  writeFileSync(path, `${JSON.stringify(config, null, 2)}\n`);
  const proc = ps.start('gateway', process.execPath, [...nodeEntryArgs('live/gateway/main'), '--config', path], { cwd: ROOT_DIR });
  const ready = await waitForReadyLine(proc, READY_TIMEOUT_MS, signal);
  const url = typeof ready.url === 'string' ? ready.url.replace('localhost', '127.0.0.1') : undefined;
  if (url === undefined) throw new Error(`gateway ready line without a url: ${JSON.stringify(ready)}`);
  return { proc, address: url, ready };
}
