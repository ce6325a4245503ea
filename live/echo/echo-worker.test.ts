// The echo worker over real gRPC (TCP and a UNIX socket), with the shared proto loader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { callUnary, createWorkerClient, type EventBatchMsg, type GenerateEventMsg, type WorkerClient } from '../shared/proto.js';
import { startEchoWorker, type EchoWorker } from './echo-worker.js';

const cleanup: (() => void)[] = [];
afterEach(() => {
  for (const f of cleanup.splice(0)) f();
});

async function start(opts: Parameters<typeof startEchoWorker>[0]): Promise<{ w: EchoWorker; c: WorkerClient }> {
  const w = await startEchoWorker(opts);
  const c = createWorkerClient(w.address);
  cleanup.push(() => {
    c.close();
    w.kill();
  });
  return { w, c };
}

function collect(c: WorkerClient, n: number, send: (s: ReturnType<WorkerClient['session']>) => void): Promise<GenerateEventMsg[]> {
  return new Promise((resolve, reject) => {
    const s = c.session();
    const events: GenerateEventMsg[] = [];
    s.on('data', (b: EventBatchMsg) => {
      events.push(...b.events);
      if (events.filter((e) => e.kind !== 'tokens').length >= n) {
        s.end();
        resolve(events);
      }
    });
    s.on('error', reject);
    send(s);
  });
}

const req = (requestId: string, prompt: string, maxTokens = 16) => ({
  requestId, model: 'echo', prompt, messages: [], maxTokens, temperature: 0, topP: 1, stop: [], sessionId: '', traceId: `t-${requestId}`, deadlineUnixMs: 0,
});

describe('echo worker', () => {
  it('answers a GenerateBatch on the Session stream with tokens then done per request', async () => {
    const { w, c } = await start({ id: 'e1' });
    const events = await collect(c, 2, (s) => s.write({ batch: { requests: [req('a', 'one two three', 2), req('b', 'x y')] } }));
    const a = events.filter((e) => e.requestId === 'a');
    expect(a[0]).toMatchObject({ kind: 'tokens', tokens: { text: 'one two', count: 2 } });
    expect(a[1]).toMatchObject({ kind: 'done', done: { finishReason: 'length', promptTokens: 3, completionTokens: 2 } });
    expect(events.find((e) => e.requestId === 'b' && e.kind === 'done')).toMatchObject({ done: { finishReason: 'stop' } });
    expect(w.counters).toMatchObject({ sessions: 1, batches: 1, requests: 2, batchSizeMax: 2 });
    expect(w.traceIds).toEqual(['t-a', 't-b']);
  });

  it('streams one word per interval and stops on Cancel', async () => {
    const { w, c } = await start({ id: 'e2', tokenDelayMs: 20 });
    const s = c.session();
    const got: GenerateEventMsg[] = [];
    s.on('data', (b: EventBatchMsg) => got.push(...b.events));
    s.on('error', () => undefined); // CANCELLED when the client closes at cleanup
    s.write({ batch: { requests: [req('a', 'a b c d e f g h i j')] } });
    await new Promise((r) => setTimeout(r, 70));
    s.write({ cancel: { requestId: 'a' } });
    await new Promise((r) => setTimeout(r, 80));
    expect(w.cancelledIds).toEqual(['a']);
    expect(got.length).toBeGreaterThan(0);
    expect(got.length).toBeLessThan(10);
    expect(got.every((e) => e.kind === 'tokens')).toBe(true);
    s.end();
  });

  it('streams max_tokens tokens on its timer from a short prompt with repeatToMaxTokens (the streaming bench\'s worker)', async () => {
    const { c } = await start({ id: 'e5', tokenDelayMs: 10, firstTokenDelayMs: 10, repeatToMaxTokens: true });
    const t0 = performance.now();
    const at: number[] = [];
    const s = c.session();
    const events: GenerateEventMsg[] = [];
    const ended = new Promise<void>((resolve, reject) => {
      s.on('data', (b: EventBatchMsg) => {
        for (const e of b.events) {
          events.push(e);
          if (e.kind === 'tokens') at.push(performance.now() - t0);
          if (e.kind !== 'tokens') resolve();
        }
      });
      s.on('error', reject);
    });
    s.write({ batch: { requests: [req('a', 'x y', 6)] } });
    await ended;
    s.end();
    const tokens = events.filter((e) => e.kind === 'tokens');
    expect(tokens.map((e) => e.tokens.text).join('')).toBe('x y x y x y');
    expect(tokens.every((e) => e.tokens.count === 1)).toBe(true);
    expect(events.at(-1)).toMatchObject({ kind: 'done', done: { finishReason: 'length', completionTokens: 6 } });
    // One token per interval: six tokens after the first delay take at least 6 × 10 ms (timers never fire early).
    expect(at[0]!).toBeGreaterThanOrEqual(9);
    expect(at.at(-1)! - at[0]!).toBeGreaterThanOrEqual(5 * 10 - 1);
  });

  it('reports an unknown model as an error event', async () => {
    const { c } = await start({ id: 'e3' });
    const events = await collect(c, 1, (s) => s.write({ batch: { requests: [{ ...req('a', 'x'), model: 'other' }] } }));
    expect(events[0]).toMatchObject({ kind: 'error', error: { code: 'model_not_loaded' } });
  });

  it('serves Stats, Embed, Models, LoadModel and Drain over a UNIX socket', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'echo-'));
    cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
    const { c } = await start({ id: 'e4', address: `unix://${join(dir, 'w.sock')}` });
    const st = await callUnary(c, c.stats, {}, 2000);
    expect(st).toMatchObject({ workerId: 'e4', models: ['echo'], healthy: true, draining: false });
    const emb = await callUnary(c, c.embed, { model: 'echo', input: ['a b'], traceId: '' }, 2000);
    expect(emb.data[0]!.values).toHaveLength(8);
    expect(emb.promptTokens).toBe(2);
    await callUnary(c, c.loadModel, { model: 'm2', path: '/x' }, 2000);
    expect((await callUnary(c, c.models, {}, 2000)).models.map((m) => m.id)).toEqual(['echo', 'm2']);
    expect(await callUnary(c, c.drain, { drain: true }, 2000)).toMatchObject({ draining: true });
    expect((await callUnary(c, c.stats, {}, 2000)).draining).toBe(true);
  });
});
