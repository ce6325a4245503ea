// Idle unload, reload on demand and pre-warm (issue 8), with real python runtimes on the tiny model:
// a model idle for idleUnloadMs has its runtime stopped and is reported not loaded; its next request
// reloads it and is answered; a hot model is kept loaded and warmed instead.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { callUnary, createWorkerClient, type GenerateEventMsg, type WorkerClient } from '../shared/proto.js';
import { ensureTinyModel, until } from './test-support.js';
import { startWorker, type Worker } from './worker.js';

function generate(client: WorkerClient, requestId: string, model = 'tiny'): Promise<GenerateEventMsg[]> {
  return new Promise((resolve, reject) => {
    const evs: GenerateEventMsg[] = [];
    const c = client.generate({ requestId, model, prompt: 'Hello there', maxTokens: 3, temperature: 0 });
    c.on('data', (ev: GenerateEventMsg) => evs.push(ev));
    c.on('end', () => resolve(evs));
    c.on('error', reject);
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function withWorker(options: Parameters<typeof startWorker>[0], body: (w: Worker, client: WorkerClient) => Promise<void>): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'mlx-idle-'));
  let worker: Worker | undefined;
  let client: WorkerClient | undefined;
  try {
    worker = await startWorker(options, { address: `unix://${join(dir, 'w.sock')}` });
    client = createWorkerClient(worker.address);
    await body(worker, client);
  } finally {
    client?.close();
    const pids = worker === undefined ? [] : [...worker.node.models.values()].flatMap((m) => m.pool.slots.map((s) => s.proc?.pid)).filter((p): p is number => p !== undefined);
    await worker?.stop(500);
    for (const pid of pids) if (alive(pid)) process.kill(pid, 'SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('idle unload, reload on demand, pre-warm (python runtime, tiny model)', () => {
  it('an idle model is unloaded (runtime gone, reported not loaded), reloads on demand, and is kept warm once hot', async () => {
    const model = ensureTinyModel();
    await withWorker({
      id: 'w-idle', models: [{ id: 'tiny', path: model }], idleUnloadMs: 500, idleCheckMs: 100,
      prewarm: { minRequests: 5, windowMs: 120_000 }, warmup: { idleCheckMs: 0 },
    }, async (worker, client) => {
      const node = worker.node;
      expect((await generate(client, 'first')).at(-1)!.kind).toBe('done');
      const pid = node.models.get('tiny')!.pool.slots[0]!.proc!.pid!;

      // 1. idle for ≥ 500 ms: the runtime is stopped, Models says loaded: false, Stats keeps routing it.
      await until(() => node.idleUnloadedModels().includes('tiny'), 10_000);
      await until(() => !alive(pid), 10_000);
      expect((await callUnary(client, client.models, {}, 2_000)).models).toMatchObject([{ id: 'tiny', loaded: false }]);
      expect(await callUnary(client, client.stats, {}, 2_000)).toMatchObject({ models: ['tiny'], coldModels: ['tiny'], runtimesAlive: 0, runtimesTotal: 0, healthy: true });
      expect((await callUnary(client, client.health, {}, 2_000)).detail).toContain('loads on demand');
      expect(node.lifecycle.idleUnloads).toBe(1);

      // 2. requests for it (three at once) share one reload and are answered.
      const answers = await Promise.all(['r1', 'r2', 'r3'].map((id) => generate(client, id)));
      for (const evs of answers) expect(evs.at(-1)!.kind).toBe('done');
      expect(node.lifecycle.reloads).toBe(1);
      expect((await callUnary(client, client.stats, {}, 2_000)).coldModels ?? []).toEqual([]); // warm again
      expect((await callUnary(client, client.models, {}, 2_000)).models).toMatchObject([{ id: 'tiny', loaded: true }]);
      const pid2 = node.models.get('tiny')!.pool.slots[0]!.proc!.pid!;
      expect(pid2).not.toBe(pid);

      // 3. 5 requests within the window make it hot: idle, it stays loaded (same runtime) and is warmed.
      expect((await generate(client, 'r5')).at(-1)!.kind).toBe('done');
      expect(node.isHot('tiny', performance.now())).toBe(true); // the node's clock is monotonic
      await until(() => node.lifecycle.prewarms >= 2, 10_000);
      expect(node.idleUnloadedModels()).toEqual([]);
      expect(node.models.get('tiny')!.pool.slots[0]!.proc!.pid).toBe(pid2);
      expect(node.lifecycle.idleUnloads).toBe(1);
    });
  }, 90_000);

  it('a reload slower than reloadWaitMs ends the request with a clear Error; an admin unload forgets the model', async () => {
    const model = ensureTinyModel();
    await withWorker({
      id: 'w-idle2', models: [{ id: 'tiny', path: model }], idleUnloadMs: 300, idleCheckMs: 50, reloadWaitMs: 30, warmup: { idleCheckMs: 0 },
    }, async (worker, client) => {
      const node = worker.node;
      await until(() => node.idleUnloadedModels().includes('tiny'), 10_000);
      const evs = await generate(client, 'slow');
      expect(evs).toMatchObject([{ kind: 'error', error: { code: 'runtime_unavailable', clientFault: false } }]);
      expect(evs[0]!.kind === 'error' && evs[0]!.error.message).toMatch(/did not reload within 30 ms/);
      // The load goes on in the background; a later request finds the model up.
      await until(() => node.models.get('tiny')?.pool.aliveCount() === 1, 30_000);
      expect((await generate(client, 'later')).at(-1)!.kind).toBe('done');

      // Admin unload of an idle-unloaded model: gone for good (no reload), the governor forgets it.
      await until(() => node.idleUnloadedModels().includes('tiny'), 10_000);
      const after = await callUnary(client, client.unloadModel, { model: 'tiny' }, 10_000);
      expect(after.models).toEqual([]);
      expect(node.governor.loadedModels()).toEqual([]);
      expect(await generate(client, 'gone')).toMatchObject([{ kind: 'error', error: { code: 'model_not_loaded' } }]);
    });
  }, 90_000);
});
