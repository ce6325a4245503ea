// Test support for the worker (not part of the public API, not built): the tiny model
// (live/shared/model.ts), and the tiny stack — one worker node on it behind a gateway, reached with the
// official openai and anthropic clients: the real path the end-to-end tests drive.
import { ensureModel, MODEL_CACHE_DIR } from '../shared/model.js';
import { join } from 'node:path';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { resolveLiveConfig } from '../shared/config.js';
import { startWorker, type Worker } from './worker.js';

export { until } from '../shared/poll.js';

export const TINY_MODEL_DIR = join(MODEL_CACHE_DIR, 'tiny');

/** Builds (or reuses) the tiny model; returns its directory. */
export function ensureTinyModel(): string {
  return ensureModel('tiny');
}

export interface TinyStack {
  readonly worker: Worker;
  readonly gateway: Gateway;
  readonly url: string;
  readonly openai: OpenAI;
  /** The Anthropic Messages API (POST /v1/messages) of the same gateway. */
  readonly anthropic: Anthropic;
  stop(): Promise<void>;
}

/** A worker node (tiny model, 8 sequences, 10,000 tokens of KV) and a gateway in front of it. */
export async function startTinyStack(name: string, apiKey: string): Promise<TinyStack> {
  const dir = mkdtempSync(join(tmpdir(), `mlx-${name}-`));
  const worker = await startWorker({
    id: 'w1', models: [{ id: 'tiny', path: ensureTinyModel() }], maxConcurrent: 8, kvCapacityBytes: 512 * 10_000,
    restart: { baseMs: 50, maxMs: 1000 }, warmup: { idleCheckMs: 100, refillMs: 20 },
  }, { address: `unix://${join(dir, 'w1.sock')}` });
  const config = resolveLiveConfig({
    listen: { host: '127.0.0.1', port: 0 },
    auth: { apiKeys: [apiKey] },
    limits: { requestTimeoutMs: 60_000, shutdownTimeoutMs: 2_000 },
    grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 5_000 },
    workers: [{ id: worker.id, address: worker.address }],
    logLevel: 'silent',
    core: { health: { heartbeatIntervalMs: 200, missesMax: 3 }, batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 } },
  });
  const gateway = buildGateway({ config, logger: false });
  const url = await gateway.start();
  return {
    worker, gateway, url,
    openai: new OpenAI({ apiKey, baseURL: `${url}/v1`, maxRetries: 0 }),
    anthropic: new Anthropic({ apiKey, baseURL: url, maxRetries: 0 }),
    async stop() {
      await gateway.stop();
      await worker.stop(1_000);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
