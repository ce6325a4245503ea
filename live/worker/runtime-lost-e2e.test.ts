// A runtime lost before its first token is the gateway core's decision (issue 13), with real
// processes: a worker node with two python runtimes of the tiny model and an echo worker serving the
// same model, behind one gateway (round-robin). The runtime a request runs on is killed before its
// first token: the node ends it with runtime_lost and retry_here (its other runtime is alive), the
// gateway core retries it (one retry, charged to its budget) on the same worker rather than on the echo
// worker, which a retry would otherwise go to (the failed worker is excluded). The same node also
// shows core's admission limits (waitingMax) on real runtimes.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startEchoWorker, type EchoWorker } from '../echo/echo-worker.js';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { systemClock } from '../shared/clock.js';
import { resolveLiveConfig } from '../shared/config.js';
import { callUnary, createWorkerClient, type GenerateEventMsg, type WorkerClient } from '../shared/proto.js';
import { ensureTinyModel, until } from './test-support.js';
import { startWorker, type Worker } from './worker.js';

const API_KEY = 'sk-runtime-lost-0001';

describe('runtime lost before its first token (real worker node, two runtimes)', () => {
  let dir: string;
  let worker: Worker;
  let echo: EchoWorker;
  let gw: Gateway;
  let openai: OpenAI;
  let grpcClient: WorkerClient;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mlx-runtime-lost-'));
    worker = await startWorker({
      // One sequence per runtime and one waiter: the last test reaches core's admission limits.
      id: 'w1', models: [{ id: 'tiny', path: ensureTinyModel(), runtimes: 2 }], maxConcurrent: 8, runtimeMaxSequences: 1, waitingMax: 1, kvCapacityBytes: 512 * 10_000,
      // No warmup generates: the test decides which runtime a request runs on.
      restart: { baseMs: 50, maxMs: 1000 }, warmup: { poolFraction: 0, onStart: false, idleCheckMs: 60_000 },
    }, { address: `unix://${join(dir, 'w1.sock')}` });
    await until(() => worker.node.models.get('tiny')!.pool.aliveCount() === 2, 60_000);
    echo = await startEchoWorker({ id: 'w2', address: `unix://${join(dir, 'w2.sock')}`, models: ['tiny'] });
    const config = resolveLiveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [API_KEY] },
      limits: { requestTimeoutMs: 60_000, shutdownTimeoutMs: 2_000 },
      grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 5_000 },
      workers: [{ id: 'w1', address: worker.address }, { id: 'w2', address: echo.address }],
      logLevel: 'silent',
      core: { routing: { type: 'round-robin' }, health: { heartbeatIntervalMs: 200, missesMax: 3 }, batching: { type: 'none' }, caching: { dedupe: { enabled: false }, responseCache: { enabled: false }, coalescing: { enabled: false } } },
    });
    gw = buildGateway({ config, logger: false });
    const url = await gw.start();
    await until(() => gw.core.workerInfo(systemClock.nowMs()).filter((w) => w.healthy).length === 2, 10_000);
    openai = new OpenAI({ apiKey: API_KEY, baseURL: `${url}/v1`, maxRetries: 0 });
    grpcClient = createWorkerClient(worker.address);
  }, 90_000);

  afterAll(async () => {
    grpcClient?.close();
    await gw?.stop();
    await echo?.stop();
    await worker?.stop(1_000);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('the gateway retries it once, on the same worker\'s other runtime, not on the other worker', async () => {
    // Round-robin over two workers: send until one lands on the echo worker, so the next goes to w1.
    for (let i = 0; i < 3; i++) {
      const before = echo.counters.requests;
      await openai.completions.create({ model: 'tiny', prompt: `warm ${i}`, max_tokens: 2, temperature: 0 });
      if (echo.counters.requests > before) break;
    }
    const slots = worker.node.models.get('tiny')!.pool.slots;
    const [victim, survivor] = [slots[0]!, slots[1]!];
    victim.lastUsedMs = Number.NEGATIVE_INFINITY; // the node picks the least recently used runtime
    survivor.lastUsedMs = Number.POSITIVE_INFINITY;
    const pid = victim.proc!.pid!;
    const startsBefore = victim.starts;
    process.kill(pid, 'SIGSTOP'); // it cannot answer: the request is surely before its first token
    const echoBefore = echo.counters.requests;
    const retriesBefore = gw.core.outcomes.retries;
    const completedBefore = worker.node.counters.completed;
    const pending = openai.completions.create({ model: 'tiny', prompt: 'Survive a lost runtime.', max_tokens: 5, temperature: 0.9 });
    await until(() => victim.inFlight === 1, 10_000);
    process.kill(pid, 'SIGKILL');
    const r = await pending;
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(worker.node.counters.runtimeLost).toBe(1);
    expect(gw.core.outcomes.retries).toBe(retriesBefore + 1);
    expect(worker.node.counters.completed).toBe(completedBefore + 1); // served by w1's other runtime
    expect(echo.counters.requests).toBe(echoBefore); // not by the other worker
    await until(() => victim.starts === startsBefore + 1 && victim.state === 'alive', 60_000);
  }, 90_000);

  it('on the wire: an Error event runtime_lost, retry_here set while another runtime is alive', async () => {
    const slots = worker.node.models.get('tiny')!.pool.slots;
    const [victim, survivor] = [slots[1]!, slots[0]!];
    victim.lastUsedMs = Number.NEGATIVE_INFINITY;
    survivor.lastUsedMs = Number.POSITIVE_INFINITY;
    const pid = victim.proc!.pid!;
    const startsBefore = victim.starts;
    process.kill(pid, 'SIGSTOP');
    const call = grpcClient.generate({ requestId: 'lost-1', model: 'tiny', prompt: 'Hello', maxTokens: 4, temperature: 0 });
    const ended = new Promise<GenerateEventMsg>((resolve, reject) => {
      call.on('data', (ev: GenerateEventMsg) => {
        if (ev.kind !== 'tokens') resolve(ev);
      });
      call.on('error', reject);
    });
    await until(() => victim.inFlight === 1, 10_000);
    process.kill(pid, 'SIGKILL');
    const ev = await ended;
    call.cancel();
    expect(ev).toMatchObject({ requestId: 'lost-1', kind: 'error', error: { code: 'runtime_lost', clientFault: false, retryHere: true } });
    await until(() => victim.starts === startsBefore + 1 && victim.state === 'alive', 60_000);
    const st = await callUnary(grpcClient, grpcClient.stats, {}, 2_000);
    expect(st).toMatchObject({ runtimesAlive: 2, runtimesTotal: 2, healthy: true });
  }, 90_000);

  it('admission limits (core/worker/admission-limits.ts) on the real node: one waiter for a runtime, the next refused queue_full', async () => {
    const pids = worker.node.models.get('tiny')!.pool.slots.map((sl) => sl.proc!.pid!);
    for (const pid of pids) process.kill(pid, 'SIGSTOP'); // both runtimes hold their one sequence
    const events = new Map<string, GenerateEventMsg>();
    const calls = ['run-a', 'run-b', 'wait-c', 'full-d'].map((requestId) => {
      const call = grpcClient.generate({ requestId, model: 'tiny', prompt: 'Hold on', maxTokens: 4, temperature: 0 });
      call.on('data', (ev: GenerateEventMsg) => {
        if (ev.kind !== 'tokens') events.set(requestId, ev);
      });
      call.on('error', () => undefined);
      return call;
    });
    try {
      await until(() => events.has('full-d'), 10_000);
      expect(events.get('full-d')).toMatchObject({ kind: 'error', error: { code: 'queue_full', clientFault: false } });
      expect(worker.node.inFlight).toBe(3);
      expect(events.size).toBe(1);
    } finally {
      for (const c of calls) c.cancel();
      await until(() => worker.node.inFlight === 0, 10_000);
      for (const pid of pids) process.kill(pid, 'SIGCONT');
    }
  }, 60_000);
});
