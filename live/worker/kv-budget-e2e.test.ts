// The node's KV capacity when kvCapacityBytes is not configured (issue 15): the node adopts the
// budget its runtimes report (stats max_kv_bytes, sized by the runtime from the device it computes
// on), not a quarter of the host's RAM; a configured value still wins and is given to the runtimes.
// Real python runtimes on the tiny model.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callUnary, createWorkerClient } from '../shared/proto.js';
import { ensureTinyModel } from './test-support.js';
import { startWorker, type Worker } from './worker.js';
import type { WorkerLogger } from './worker-node.js';

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

async function start(options: Parameters<typeof startWorker>[0], log?: WorkerLogger): Promise<Worker> {
  const dir = mkdtempSync(join(tmpdir(), 'mlx-kvb-'));
  const w = await startWorker(options, { address: `unix://${join(dir, 'w.sock')}`, ...(log !== undefined && { log }) });
  cleanups.push(async () => {
    await w.stop(500);
    rmSync(dir, { recursive: true, force: true });
  });
  return w;
}

async function runtimeStats(w: Worker, model = 'tiny') {
  const slots = w.node.models.get(model)!.pool.slots;
  return Promise.all(slots.map((s) => s.proc!.client.call('stats', {}, { timeoutMs: 10_000 })));
}

describe('worker KV capacity from the runtimes (python runtime, tiny model)', () => {
  it('not configured: the node governs with the budget its runtime reported, and says so', async () => {
    const infos: { obj: object; msg: string }[] = [];
    const w = await start({ id: 'w-kvb', models: [{ id: 'tiny', path: ensureTinyModel() }], warmup: { idleCheckMs: 0 } },
      { info: (obj, msg) => infos.push({ obj, msg }), warn: () => undefined });
    const [st] = await runtimeStats(w);
    expect(st!.kv_budget_source).toBeDefined();
    expect(st!.kv_budget_source).not.toBe('configured');
    expect(w.node.kvCapacityBytes).toBe(st!.max_kv_bytes);
    expect(w.node.kvCapacitySource).toBe(`runtime:${st!.kv_budget_source}`);
    expect(w.node.governor.stats().capacityBytes).toBe(st!.max_kv_bytes);
    const client = createWorkerClient(w.address);
    try {
      const status = await callUnary(client, client.stats, {}, 5_000);
      expect(Number(status.kvCapacityBytes)).toBe(st!.max_kv_bytes);
    } finally {
      client.close();
    }
    expect(infos.some((i) => /adopted from the runtimes' budget/.test(i.msg) && (i.obj as { kvCapacityBytes?: number }).kvCapacityBytes === st!.max_kv_bytes)).toBe(true);
  }, 120_000);

  it('not configured, two runtimes sized by MLX_RUNTIME_MAX_KV_BYTES: the node adopts their budget and refuses above it', async () => {
    // MLX_RUNTIME_MAX_KV_BYTES sizes a runtime's budget without configuring the node (source "configured" on the runtime).
    const saved = process.env.MLX_RUNTIME_MAX_KV_BYTES;
    process.env.MLX_RUNTIME_MAX_KV_BYTES = '7340032';
    let w: Worker;
    try {
      w = await start({ id: 'w-kvb2', models: [{ id: 'tiny', path: ensureTinyModel(), runtimes: 2 }], warmup: { idleCheckMs: 0 } });
    } finally {
      if (saved === undefined) delete process.env.MLX_RUNTIME_MAX_KV_BYTES;
      else process.env.MLX_RUNTIME_MAX_KV_BYTES = saved;
    }
    const stats = await runtimeStats(w);
    expect(stats.map((s) => s.max_kv_bytes)).toEqual([7_340_032, 7_340_032]);
    expect(w.node.kvCapacityBytes).toBe(7_340_032);
    expect(w.node.kvCapacitySource).toBe('runtime:configured');
    // a request larger than the adopted budget (~20 000 estimated prompt tokens) is refused by the node's governor
    const client = createWorkerClient(w.address);
    try {
      const evs = await new Promise<{ error?: { code: string; message: string } }[]>((resolve, reject) => {
        const out: { error?: { code: string; message: string } }[] = [];
        const c = client.generate({ requestId: 'big', model: 'tiny', prompt: 'x'.repeat(60_000), maxTokens: 4, temperature: 0 });
        c.on('data', (ev: { error?: { code: string; message: string } }) => out.push(ev));
        c.on('end', () => resolve(out));
        c.on('error', reject);
      });
      expect(evs.at(-1)?.error?.code).toBe('kv_capacity');
      expect(evs.at(-1)?.error?.message).toContain('of 7340032 free');
    } finally {
      client.close();
    }
  }, 120_000);

  it('configured: kvCapacityBytes wins, on the node and on its runtimes', async () => {
    const w = await start({ id: 'w-kvb3', models: [{ id: 'tiny', path: ensureTinyModel() }], kvCapacityBytes: 9_000_000, warmup: { idleCheckMs: 0 } });
    const [st] = await runtimeStats(w);
    expect(st!.max_kv_bytes).toBe(9_000_000);
    expect(st!.kv_budget_source).toBe('configured');
    expect(w.node.kvCapacityBytes).toBe(9_000_000);
    expect(w.node.kvCapacitySource).toBe('configured');
  }, 120_000);
});
