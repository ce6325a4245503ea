// The node's KV capacity when kvCapacityBytes is not configured (issue 15): the node adopts the
// budget its runtimes report (stats max_kv_bytes, sized by the runtime from the device it computes
// on), not a quarter of the host's RAM; a configured value still wins and is given to the runtimes.
// And a request the node cannot give KV to now waits for running requests to free it (kvWaitMs)
// instead of being refused with kv_capacity at once. Real python runtimes on the tiny model.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { DEFAULT_GATEWAY_CONFIG } from '../../core/index.js';
import { callUnary, createWorkerClient, type GenerateEventMsg, type WorkerClient } from '../shared/proto.js';
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
    // the runtime's prompt cache keeps as many idle sessions as the governor accounts for
    expect(st!.prompt_cache!.max_entries).toBe(DEFAULT_GATEWAY_CONFIG.memory.idleSessionsMax);
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
      expect(evs.at(-1)?.error?.code).toBe('kv_exceeds_capacity');
      expect(evs.at(-1)?.error?.message).toContain('of 7340032 free');
    } finally {
      client.close();
    }
  }, 120_000);

  it('configured: kvCapacityBytes and idleSessionsMax win, on the node and on its runtimes', async () => {
    const w = await start({ id: 'w-kvb3', models: [{ id: 'tiny', path: ensureTinyModel() }], kvCapacityBytes: 9_000_000, idleSessionsMax: 12, warmup: { idleCheckMs: 0 } });
    const [st] = await runtimeStats(w);
    expect(st!.max_kv_bytes).toBe(9_000_000);
    expect(st!.prompt_cache!.max_entries).toBe(12);
    expect(st!.kv_budget_source).toBe('configured');
    expect(w.node.kvCapacityBytes).toBe(9_000_000);
    expect(w.node.kvCapacitySource).toBe('configured');
  }, 120_000);
});

function generate(client: WorkerClient, requestId: string, maxTokens: number, prompt = 'Hello there'): Promise<GenerateEventMsg[]> {
  return new Promise((resolve, reject) => {
    const evs: GenerateEventMsg[] = [];
    const c = client.generate({ requestId, model: 'tiny', prompt, maxTokens, temperature: 0 });
    c.on('data', (ev: GenerateEventMsg) => evs.push(ev));
    c.on('end', () => resolve(evs));
    c.on('error', reject);
  });
}

/** The Error of a stream's terminal event, if it ended with one. */
function errorOf(evs: readonly GenerateEventMsg[]): { code: string; message: string } | undefined {
  const e = evs.at(-1);
  return e?.kind === 'error' ? e.error : undefined;
}

const KV_PER_TOKEN = 512; // the tiny model: 2 layers x 2 KV heads x 16 dims x 4 bytes x (K + V)
// 'Hello there' is estimated at 4 tokens: 4 + 100 = 104 tokens; the node counts mlx-lm's padded batch
// (core/memory/batch-layout.ts: n x longest x 2), so one costs 208 tokens and fits in 300, two cost 416.
const CAPACITY = KV_PER_TOKEN * 300;

describe('waiting for KV instead of refusing (python runtime, tiny model)', () => {
  it('a request that does not fit beside the running ones waits for them and is served', async () => {
    const w = await start({ id: 'w-kvwait', models: [{ id: 'tiny', path: ensureTinyModel() }], kvCapacityBytes: CAPACITY, warmup: { idleCheckMs: 0 } });
    expect(w.node.models.get('tiny')!.kvBytesPerToken).toBe(KV_PER_TOKEN);
    const client = createWorkerClient(w.address);
    try {
      const results = await Promise.all([generate(client, 'a', 100), generate(client, 'b', 100), generate(client, 'c', 100)]);
      for (const evs of results) expect(evs.at(-1)!.kind).toBe('done');
      expect(w.node.counters.kvWaits).toBeGreaterThanOrEqual(1);
      expect(w.node.counters.kvWaitAdmitted).toBe(w.node.counters.kvWaits);
      expect(w.node.counters.refused).toBe(0);
      expect(w.node.kvWaiting).toBe(0);
      expect(w.node.governor.stats().refusals).toBeGreaterThanOrEqual(1);
    } finally {
      client.close();
    }
  }, 120_000);

  it('refused at once when it would not fit in an empty node, when kvWaitMs is 0, or after kvWaitMs', async () => {
    const w = await start({ id: 'w-kvwait2', models: [{ id: 'tiny', path: ensureTinyModel() }], kvCapacityBytes: CAPACITY, kvWaitMs: 300, warmup: { idleCheckMs: 0 } });
    const client = createWorkerClient(w.address);
    try {
      // 4 + 200 tokens (x2: 408) never fit in 300
      const big = await generate(client, 'big', 200);
      expect(errorOf(big)?.code).toBe('kv_exceeds_capacity');
      expect((errorOf(big) as { clientFault?: boolean } | undefined)?.clientFault).toBe(true);
      expect(errorOf(big)?.message).toContain('would not fit even in an empty node');
      // a request that keeps its KV for longer than kvWaitMs (~142 tokens: 284 alone, 568 with the waiter): the waiter behind it gives up with kv_capacity
      const long = generate(client, 'long', 140, 'x');
      await new Promise((r) => setTimeout(r, 20));
      const waiter = await generate(client, 'waiter', 100);
      const longEvs = await long;
      expect(longEvs.at(-1)!.kind).toBe('done');
      if (w.node.counters.kvWaits > 0 && w.node.counters.kvWaitAdmitted === 0) {
        expect(errorOf(waiter)?.code).toBe('kv_capacity');
        expect(errorOf(waiter)?.message).toContain('kvWaitMs (300 ms)');
      } else {
        // the long request finished within 300 ms on this machine: the waiter was admitted
        expect(waiter.at(-1)!.kind).toBe('done');
      }
    } finally {
      client.close();
    }
    const w0 = await start({ id: 'w-kvwait3', models: [{ id: 'tiny', path: ensureTinyModel() }], kvCapacityBytes: CAPACITY, kvWaitMs: 0, warmup: { idleCheckMs: 0 } });
    const c0 = createWorkerClient(w0.address);
    try {
      const [a, b] = await Promise.all([generate(c0, 'a', 100), generate(c0, 'b', 100)]);
      expect([a.at(-1)!.kind, b.at(-1)!.kind].sort()).toEqual(['done', 'error']);
      expect(errorOf(a)?.code ?? errorOf(b)?.code).toBe('kv_capacity');
    } finally {
      c0.close();
    }
  }, 120_000);
});
