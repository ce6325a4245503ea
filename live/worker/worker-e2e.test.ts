// End to end with real processes: HTTP → gateway → gRPC (UNIX socket) → worker node → python runtime
// running the tiny model. One worker with one runtime for the whole file (a python start costs ~3 s).
import { tmpdir } from 'node:os';
import { mkdtempSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it, onTestFinished } from 'vitest';
import { buildGateway, type Gateway } from '../gateway/gateway.js';
import { resolveLiveConfig } from '../shared/config.js';
import { callUnary, createWorkerClient, type EventBatchMsg, type GenerateEventMsg, type GenerateRequestMsg, type WorkerClient } from '../shared/proto.js';
import { ensureTinyModel, until } from './test-support.js';
import { startWorker, type Worker } from './worker.js';

const API_KEY = 'sk-worker-e2e-0001';

/** A full GenerateRequest (proto defaults) from the fields a test cares about. */
function gen(p: Partial<GenerateRequestMsg> & { requestId: string }): GenerateRequestMsg {
  return { model: 'tiny', prompt: '', messages: [], maxTokens: 0, temperature: 0, topP: 0, stop: [], sessionId: '', traceId: '', deadlineUnixMs: 0, ...p };
}

describe('worker node end to end (python runtime, tiny model)', () => {
  let dir: string;
  let worker: Worker;
  let gw: Gateway;
  let url: string;
  let grpcClient: WorkerClient;
  let openai: OpenAI;

  beforeAll(async () => {
    const model = ensureTinyModel();
    dir = mkdtempSync(join(tmpdir(), 'mlx-worker-e2e-'));
    worker = await startWorker({
      id: 'w1', models: [{ id: 'tiny', path: model }], maxConcurrent: 8, kvCapacityBytes: 512 * 10_000, modelMemoryBytes: 1e12,
      restart: { baseMs: 50, maxMs: 1000 }, warmup: { idleCheckMs: 100, refillMs: 20 },
    }, { address: `unix://${join(dir, 'w1.sock')}` });
    const config = resolveLiveConfig({
      listen: { host: '127.0.0.1', port: 0 },
      auth: { apiKeys: [API_KEY] },
      limits: { requestTimeoutMs: 60_000, shutdownTimeoutMs: 2_000 },
      grpc: { reconnectBaseMs: 50, reconnectMaxMs: 500, unaryTimeoutMs: 5_000 },
      workers: [{ id: worker.id, address: worker.address }],
      logLevel: 'silent',
      core: {
        health: { heartbeatIntervalMs: 200, missesMax: 3 }, batching: { type: 'micro', windowMs: 1, maxBatchSize: 16 },
        // A model the gateway loads on this worker when asked for (the tiny model under another name).
        catalog: { 'tiny-on-demand': { path: model, bytes: 1 } },
      },
    });
    gw = buildGateway({ config, logger: false });
    url = await gw.start();
    grpcClient = createWorkerClient(worker.address);
    openai = new OpenAI({ apiKey: API_KEY, baseURL: `${url}/v1`, maxRetries: 0 });
  }, 60_000);

  afterAll(async () => {
    grpcClient?.close();
    await gw?.stop();
    await worker?.stop(1_000);
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  });

  it('serves chat and text completions, streamed and not, through the openai client', async () => {
    const r = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Tell me a story.' }], max_tokens: 8, temperature: 0.7 });
    expect(r.choices[0]!.finish_reason).toMatch(/stop|length/);
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(r.usage!.completion_tokens).toBeLessThanOrEqual(8);
    expect(r.usage!.prompt_tokens).toBeGreaterThan(3);

    const stream = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Stream a story.' }], max_tokens: 12, temperature: 0, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let usage;
    for await (const c of stream) {
      chunks++;
      text += c.choices[0]?.delta.content ?? '';
      usage = c.usage ?? usage;
    }
    expect(chunks).toBeGreaterThan(2);
    expect(usage?.completion_tokens).toBeGreaterThan(0);
    // Greedy decoding is deterministic: the same request not streamed gives the same text.
    const again = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Stream a story.' }], max_tokens: 12, temperature: 0 }, { headers: { 'cache-control': 'no-cache' } });
    expect(again.choices[0]!.message.content).toBe(text);

    const c = await openai.completions.create({ model: 'tiny', prompt: 'Once upon a time', max_tokens: 5, temperature: 0.5 });
    expect(c.usage!.completion_tokens).toBeGreaterThan(0);
    expect(worker.node.warmup.warmStarts + worker.node.warmup.coldStarts).toBeGreaterThan(0);
  });

  it('a request the worker refuses as the client\'s fault is a 400 with the worker\'s code and message, not a 502', async () => {
    // 20,000 tokens of KV never fit this node (10,000 tokens of KV): kv_exceeds_capacity, a client fault.
    const err = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Too big.' }], max_tokens: 20_000, temperature: 0 }).then(() => undefined, (e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    const e = err as InstanceType<typeof OpenAI.APIError>;
    expect(e.status).toBe(400);
    expect(e.code).toBe('kv_exceeds_capacity');
    expect(e.type).toBe('invalid_request_error');
    expect(e.message).toContain('would not fit even in an empty node');
    // and the worker is still routable: the next request is served
    const ok = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Small.' }], max_tokens: 2, temperature: 0 });
    expect(ok.choices[0]!.finish_reason).toBeDefined();
  });

  it('serves embeddings and lists models with their versions', async () => {
    const e = await openai.embeddings.create({ model: 'tiny', input: ['hello world', 'bye'], encoding_format: 'float' });
    expect(e.data).toHaveLength(2);
    expect(Math.hypot(...e.data[0]!.embedding)).toBeCloseTo(1, 3);
    expect((await openai.models.list()).data.map((m) => m.id)).toEqual(['tiny', 'tiny-on-demand']); // the catalogued one too (core.catalog)
    const models = await callUnary(grpcClient, grpcClient.models, {}, 2_000);
    expect(models.models[0]).toMatchObject({ id: 'tiny', loaded: true });
    expect(models.models[0]!.version).toMatch(/^[0-9a-f]{12}$/);
  });

  it('a runtime killed before sending a token: the node reports runtime_lost, the gateway core retries it (its only worker), the client sees a normal answer', async () => {
    const slot = worker.node.models.get('tiny')!.pool.slots[0]!;
    const startsBefore = slot.starts;
    const pid = slot.proc!.pid!;
    process.kill(pid, 'SIGSTOP'); // it cannot answer: the request is surely before its first token
    const retriesBefore = gw.core.outcomes.retries;
    const pending = openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'Survive a crash.' }], max_tokens: 6, temperature: 0.9 });
    await until(() => worker.node.inFlight === 1);
    process.kill(pid, 'SIGKILL');
    const r = await pending;
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(worker.node.counters.runtimeLost).toBe(1);
    expect(gw.core.outcomes.retries).toBe(retriesBefore + 1);
    expect(slot.starts).toBe(startsBefore + 1);
    const st = await callUnary(grpcClient, grpcClient.stats, {}, 2_000);
    expect(st).toMatchObject({ runtimesAlive: 1, runtimesTotal: 1, healthy: true });
    // memory_free_bytes: modelMemoryBytes less the tiny model's weights (Models reports their bytes).
    const models = await callUnary(grpcClient, grpcClient.models, {}, 2_000);
    const tinyBytes = models.models.find((m) => m.id === 'tiny')!.bytes;
    expect(tinyBytes).toBeGreaterThan(0);
    expect(st.memoryFreeBytes).toBe(1e12 - tinyBytes);
    // The worker node's status names the BLAS its runtime reported (python/mlx_runtime/blas.py).
    const health = await slot.proc!.client.call('health', {});
    expect(st.blas).toMatch(/^(openblas|reference)/);
    expect(st.blas).toBe(health.blas);
    // … and the MLX device (issue 15: the live report records which device each side ran on).
    expect(st.device).toBe('Device(cpu, 0)');
    expect(st.device).toBe(health.device);
  }, 60_000);

  it('a runtime killed mid-stream ends that stream with a runtime_crashed Error event, and comes back', async () => {
    const slot = worker.node.models.get('tiny')!.pool.slots[0]!;
    const startsBefore = slot.starts;
    const call = grpcClient.generate({ requestId: 'mid', model: 'tiny', prompt: 'A very long story', maxTokens: 3000, temperature: 0.8 });
    const events: GenerateEventMsg[] = [];
    let killed = false;
    await new Promise<void>((resolve, reject) => {
      call.on('data', (ev: GenerateEventMsg) => {
        events.push(ev);
        if (ev.kind === 'tokens' && !killed) {
          killed = true;
          slot.proc!.kill();
        }
      });
      call.on('end', resolve);
      call.on('error', reject);
    });
    const last = events.at(-1)!;
    expect(last.kind).toBe('error');
    expect(last.kind === 'error' && last.error).toMatchObject({ code: 'runtime_crashed', clientFault: false });
    await until(() => slot.starts === startsBefore + 1 && slot.state === 'alive', 30_000);
  }, 60_000);

  it('Session: batches, cancels, client-fault errors, admission (maxConcurrent) and KV refusals', async () => {
    const s = grpcClient.session();
    onTestFinished(() => {
      s.end();
    });
    const got: GenerateEventMsg[] = [];
    s.on('data', (b: EventBatchMsg) => got.push(...b.events));
    const terminal = (id: string) => got.find((e) => e.requestId === id && e.kind !== 'tokens');
    const long = Array.from({ length: 9 }, (_, i) => gen({ requestId: `L${i}`, prompt: `Long ${i}`, maxTokens: 1000, temperature: 0.5 }));
    s.write({ batch: { requests: long } });
    await until(() => terminal('L8') !== undefined);
    expect(terminal('L8')).toMatchObject({ kind: 'error', error: { code: 'overloaded', clientFault: false } });
    s.write({ batch: { requests: [
      gen({ requestId: 'bad', prompt: 'x', maxTokens: 2, stop: Array.from({ length: 17 }, (_, i) => `s${i}`) }),
      gen({ requestId: 'nomodel', model: 'nope', prompt: 'x', maxTokens: 2 }),
      gen({ requestId: 'empty', prompt: '', maxTokens: 2 }),
    ] } });
    await until(() => ['bad', 'nomodel', 'empty'].every((id) => terminal(id) !== undefined));
    expect(terminal('bad')).toMatchObject({ kind: 'error', error: { code: 'invalid_request', clientFault: true } });
    expect(terminal('nomodel')).toMatchObject({ kind: 'error', error: { code: 'model_not_loaded', clientFault: false } });
    expect(terminal('empty')).toMatchObject({ kind: 'error', error: { code: 'invalid_request', clientFault: true } });
    for (let i = 0; i < 8; i++) s.write({ cancel: { requestId: `L${i}` } });
    await until(() => worker.node.inFlight === 0);
    // 8 sequences of ~1000 tokens fit in 10,000 tokens of KV; one of 20,000 tokens alone cannot.
    s.write({ batch: { requests: [gen({ requestId: 'huge', prompt: 'x', maxTokens: 20_000 })] } });
    await until(() => terminal('huge') !== undefined);
    expect(terminal('huge')).toMatchObject({ kind: 'error', error: { code: 'kv_exceeds_capacity', clientFault: true } });
    // The cancels reach the runtime over its stdin and take effect between two decode steps: wait for
    // it (a one-shot read right after them raced with the runtime's engine loop under load).
    const client = worker.node.models.get('tiny')!.pool.slots[0]!.proc!.client;
    let rt = await client.call('stats', {});
    await until(async () => (rt = await client.call('stats', {})).active_sequences === 0, 10_000);
    expect(rt.active_sequences).toBe(0); // the cancels reached the runtime
    expect(got.filter((e) => e.requestId.startsWith('L') && e.kind !== 'tokens' && e.requestId !== 'L8')).toEqual([]);
    s.end();
  }, 30_000);

  it('deadlines cancel the runtime request', async () => {
    const call = grpcClient.generate({ requestId: 'dl', model: 'tiny', prompt: 'Never ending', maxTokens: 3000, deadlineUnixMs: Date.now() + 150 });
    const events: GenerateEventMsg[] = [];
    await new Promise<void>((resolve, reject) => {
      call.on('data', (ev: GenerateEventMsg) => events.push(ev));
      call.on('end', resolve);
      call.on('error', reject);
    });
    expect(events.at(-1)).toMatchObject({ kind: 'error', error: { code: 'deadline_exceeded' } });
    expect(worker.node.counters.deadlineExceeded).toBe(1);
    await until(async () => (await worker.node.models.get('tiny')!.pool.slots[0]!.proc!.client.call('stats', {})).active_sequences === 0);
  });

  it('drain: no new work, in-flight finishes, status says draining; undrain restores it', async () => {
    const inflight = grpcClient.generate({ requestId: 'fin', model: 'tiny', prompt: 'Finish me', maxTokens: 100, temperature: 0.5 });
    const events: GenerateEventMsg[] = [];
    const ended = new Promise<void>((resolve) => {
      inflight.on('data', (ev: GenerateEventMsg) => events.push(ev));
      inflight.on('end', resolve);
    });
    await until(() => worker.node.inFlight === 1);
    const d = await callUnary(grpcClient, grpcClient.drain, { drain: true }, 2_000);
    expect(d).toEqual({ draining: true, inFlight: 1 });
    expect((await callUnary(grpcClient, grpcClient.stats, {}, 2_000)).draining).toBe(true);
    expect((await callUnary(grpcClient, grpcClient.health, {}, 2_000)).ready).toBe(false);
    onTestFinished(async () => {
      await callUnary(grpcClient, grpcClient.drain, { drain: false }, 2_000);
    });
    const refused = await new Promise<GenerateEventMsg[]>((resolve, reject) => {
      const evs: GenerateEventMsg[] = [];
      const c = grpcClient.generate({ requestId: 'refused', model: 'tiny', prompt: 'x', maxTokens: 2 });
      c.on('data', (ev: GenerateEventMsg) => evs.push(ev));
      c.on('end', () => resolve(evs));
      c.on('error', reject);
    });
    expect(refused).toMatchObject([{ kind: 'error', error: { code: 'draining', clientFault: false } }]);
    // The gateway sees the draining status on its next poll and stops routing there.
    await until(() => !gw.core.readyModels(gw.driver.nowMs()).includes('tiny'));
    await ended;
    expect(events.at(-1)!.kind).toBe('done');
    await callUnary(grpcClient, grpcClient.drain, { drain: false }, 2_000);
    await until(async () => !(await callUnary(grpcClient, grpcClient.stats, {}, 2_000)).draining);
    await until(() => gw.core.readyModels(gw.driver.nowMs()).includes('tiny'));
    const ok = await openai.chat.completions.create({ model: 'tiny', messages: [{ role: 'user', content: 'back' }], max_tokens: 2, temperature: 0.3 });
    expect(ok.choices).toHaveLength(1);
  }, 30_000);

  it('warms up in idle time and loads/unloads models at run time', async () => {
    await until(() => worker.node.warmup.warmupRequests > 0, 10_000);
    const before = await callUnary(grpcClient, grpcClient.loadModel, { model: 'tiny-b', path: ensureTinyModel() }, 60_000);
    expect(before.models.map((m) => m.id).sort()).toEqual(['tiny', 'tiny-b']);
    const r = await new Promise<GenerateEventMsg[]>((resolve, reject) => {
      const evs: GenerateEventMsg[] = [];
      const c = grpcClient.generate({ requestId: 'b1', model: 'tiny-b', prompt: 'Hello', maxTokens: 3 });
      c.on('data', (ev: GenerateEventMsg) => evs.push(ev));
      c.on('end', () => resolve(evs));
      c.on('error', reject);
    });
    expect(r.at(-1)!.kind).toBe('done');
    const after = await callUnary(grpcClient, grpcClient.unloadModel, { model: 'tiny-b' }, 10_000);
    expect(after.models.map((m) => m.id)).toEqual(['tiny']);
    const st = await callUnary(grpcClient, grpcClient.stats, {}, 2_000);
    expect(st).toMatchObject({ models: ['tiny'], runtimesAlive: 1, runtimesTotal: 1 });
  }, 60_000);

  it('a request for a catalogued model no worker holds: the gateway loads it on the worker (LoadModel) and serves it', async () => {
    const r = await openai.chat.completions.create({ model: 'tiny-on-demand', messages: [{ role: 'user', content: 'Hello' }], max_tokens: 3 });
    expect(r.model).toBe('tiny-on-demand');
    expect(r.usage!.completion_tokens).toBeGreaterThan(0);
    expect(worker.node.models.has('tiny-on-demand')).toBe(true);
    expect([...gw.core.workerInfo(performance.now()).find((w) => w.id === 'w1')!.models].sort()).toEqual(['tiny', 'tiny-on-demand']);
    const after = await callUnary(grpcClient, grpcClient.unloadModel, { model: 'tiny-on-demand' }, 10_000);
    expect(after.models.map((m) => m.id)).toEqual(['tiny']);
  }, 60_000);
});
