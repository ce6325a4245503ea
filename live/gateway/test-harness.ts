// Test harness: echo workers + a gateway in this process, on free ports. Not part of the public API.
import { resolveLiveConfig } from '../shared/config.js';
import { startEchoWorker, type EchoWorker, type EchoWorkerOptions } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from './gateway.js';

export { until } from '../shared/poll.js';

export const API_KEY = 'sk-test-key-0001';
export const API_KEY_2 = 'sk-test-key-0002';
export const ADMIN_KEY = 'sk-admin-key-0001';
export const JWT_SECRET = 'a-test-secret-that-is-at-least-32-characters-long';

/** JSON bodies in tests are read loosely. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type J = any;
export type JsonResponse = Omit<Response, 'json'> & { json(): Promise<J> };

export interface Harness {
  readonly url: string;
  readonly gw: Gateway;
  readonly workers: EchoWorker[];
  /** fetch against the gateway with the API key (override headers to change it). */
  fetch(path: string, init?: RequestInit & { json?: unknown; key?: string | null }): Promise<JsonResponse>;
  metric(name: string, labels?: Record<string, string>): Promise<number>;
  close(): Promise<void>;
}

export interface HarnessOptions {
  readonly workers?: readonly Partial<EchoWorkerOptions>[];
  /** Raw config overrides (validated like a file). */
  readonly config?: Record<string, unknown>;
  readonly core?: Record<string, unknown>;
}

export async function startHarness(opts: HarnessOptions = {}): Promise<Harness> {
  const specs = opts.workers ?? [{}];
  const workers = await Promise.all(specs.map((w, i) => startEchoWorker({ id: `w${i + 1}`, models: ['echo'], ...w })));
  const base: Record<string, unknown> = {
    listen: { host: '127.0.0.1', port: 0 },
    auth: { apiKeys: [API_KEY, API_KEY_2], adminKey: ADMIN_KEY, jwt: { hs256Secret: JWT_SECRET, audience: 'mlx-serving' } },
    limits: { requestTimeoutMs: 10_000, shutdownTimeoutMs: 2_000 },
    grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 2_000 },
    workers: workers.map((w) => ({ id: w.id, address: w.address })),
    logLevel: 'silent',
    ...opts.config,
    // missesMax 10: tolerant of slow polls on a loaded machine.
    core: { health: { heartbeatIntervalMs: 200, missesMax: 10 }, batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 }, ...opts.core },
  };
  const config = resolveLiveConfig(base);
  const gw = buildGateway({ config, logger: false });
  const url = await gw.start();
  const h: Harness = {
    url,
    gw,
    workers,
    fetch(path, init = {}) {
      const { json, key, ...rest } = init;
      const headers = new Headers(rest.headers);
      const k = key === undefined ? API_KEY : key;
      if (k !== null && !headers.has('authorization')) headers.set('authorization', `Bearer ${k}`);
      if (json !== undefined) headers.set('content-type', 'application/json');
      return fetch(`${url}${path}`, { ...rest, headers, ...(json !== undefined && { method: rest.method ?? 'POST', body: JSON.stringify(json) }) });
    },
    async metric(name, labels = {}) {
      const text = await (await h.fetch('/metrics', { key: ADMIN_KEY })).text();
      let sum = 0;
      for (const line of text.split('\n')) {
        if (!line.startsWith(name)) continue;
        const m = /^([a-z_]+)(\{[^}]*\})? ([-0-9.e+]+|NaN)$/.exec(line);
        if (m === null || m[1] !== name) continue;
        const lbl = m[2] ?? '';
        if (Object.entries(labels).every(([k, v]) => lbl.includes(`${k}="${v}"`))) sum += Number(m[3]);
      }
      return sum;
    },
    async close() {
      await gw.stop();
      for (const w of workers) w.kill();
    },
  };
  return h;
}

export function chatBody(content: string, over: Record<string, unknown> = {}): Record<string, unknown> {
  return { model: 'echo', messages: [{ role: 'user', content }], temperature: 0, ...over };
}

/** Reads an SSE response into its `data:` payloads. */
export async function readSse(res: JsonResponse): Promise<string[]> {
  const text = await res.text();
  return text.split('\n\n').filter((b) => b.startsWith('data: ')).map((b) => b.slice('data: '.length));
}

