// The JSON-RPC client: framing and routing against fake pipes, then against one real runtime process
// (many generates multiplexed on one stdio, error mapping, cancel, a death failing pending calls).
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toWorkerError } from './errors.js';
import { RPC, RuntimeClient, RuntimeGoneError, RuntimeRpcError, RuntimeTimeoutError, type TokensNotification } from './runtime-client.js';
import { RuntimeProcess } from './runtime-process.js';
import { ensureTinyModel } from './test-support.js';

function fakePipes() {
  const toRuntime = new PassThrough();
  const fromRuntime = new PassThrough();
  const sent: Record<string, unknown>[] = [];
  let buf = '';
  toRuntime.setEncoding('utf8');
  toRuntime.on('data', (c: string) => {
    buf += c;
    for (let nl = buf.indexOf('\n'); nl !== -1; nl = buf.indexOf('\n')) {
      sent.push(JSON.parse(buf.slice(0, nl)) as Record<string, unknown>);
      buf = buf.slice(nl + 1);
    }
  });
  const reply = (o: object) => fromRuntime.write(`${JSON.stringify({ jsonrpc: '2.0', ...o })}\n`);
  return { toRuntime, fromRuntime, sent, reply };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RuntimeClient framing (fake pipes)', () => {
  it('routes responses by id and tokens by request_id, across split and merged chunks', async () => {
    const p = fakePipes();
    const c = new RuntimeClient(p.toRuntime, p.fromRuntime);
    const got: Record<string, string[]> = { a: [], b: [] };
    const a = c.generate({ request_id: 'a', prompt: 'x' }, (t) => got.a!.push(t.text));
    const b = c.generate({ request_id: 'b', prompt: 'y' }, (t) => got.b!.push(t.text));
    const s = c.call('stats', {});
    await tick();
    expect(p.sent.map((m) => m.method)).toEqual(['generate', 'generate', 'stats']);
    expect((p.sent[0]!.params as { stream: boolean }).stream).toBe(true);
    const tok = (rid: string, text: string) => JSON.stringify({ jsonrpc: '2.0', method: 'tokens', params: { request_id: rid, text, token_ids: [1], completion_tokens: 1, prompt_tokens: 1 } });
    const line = `${tok('b', 'B1')}\n${tok('a', 'A1')}\n${JSON.stringify({ jsonrpc: '2.0', id: 3, result: { active_sequences: 2 } })}\n`;
    p.fromRuntime.write(line.slice(0, 17));
    p.fromRuntime.write(line.slice(17));
    p.reply({ id: b.rpcId, result: { request_id: 'b', finish_reason: 'stop' } });
    p.reply({ id: a.rpcId, error: { code: RPC.invalidParams, message: 'invalid params: max_tokens', data: { reason: 'invalid_params', field: 'max_tokens' } } });
    expect((await s).active_sequences).toBe(2);
    expect((await b.result).finish_reason).toBe('stop');
    const err = await a.result.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RuntimeRpcError);
    expect((err as RuntimeRpcError).reason).toBe('invalid_params');
    expect(toWorkerError(err).toEvent()).toMatchObject({ code: 'invalid_request', clientFault: true });
    expect(got).toEqual({ a: ['A1'], b: ['B1'] });
    expect(c.pendingCount).toBe(0);
  });

  it('fails pending calls when the pipe closes, times out calls, and bounds pending calls', async () => {
    const p = fakePipes();
    const c = new RuntimeClient(p.toRuntime, p.fromRuntime, { pendingMax: 2 });
    const slow = c.call('health', {}, { timeoutMs: 20 });
    const g = c.generate({ request_id: 'g', prompt: 'x' }, () => undefined);
    const over = c.call('stats', {});
    expect(await over.catch((e: unknown) => e)).toBeInstanceOf(RuntimeRpcError);
    expect(await slow.catch((e: unknown) => e)).toBeInstanceOf(RuntimeTimeoutError);
    p.fromRuntime.end();
    const gone = await g.result.catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(RuntimeGoneError);
    expect(toWorkerError(gone).toEvent()).toMatchObject({ code: 'runtime_crashed', clientFault: false });
    expect(await c.call('stats', {}).catch((e: unknown) => e)).toBeInstanceOf(RuntimeGoneError);
  });

  it('reports lines that are not protocol without failing calls', async () => {
    const p = fakePipes();
    const bad: string[] = [];
    const c = new RuntimeClient(p.toRuntime, p.fromRuntime, { onProtocolError: (m) => bad.push(m) });
    const h = c.call('health', {});
    p.fromRuntime.write('not json\n{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"parse error"}}\n');
    p.reply({ id: 1, result: { status: 'ok' } });
    expect((await h).status).toBe('ok');
    expect(bad).toHaveLength(2);
  });
});

describe('RuntimeClient against the python runtime', () => {
  let rt: RuntimeProcess;
  beforeAll(async () => {
    const dir = ensureTinyModel();
    rt = new RuntimeProcess({ modelPath: dir, modelId: 'tiny', maxSequences: 8 });
    await rt.ready();
  }, 60_000);
  afterAll(async () => {
    await rt?.stop();
  });

  it('multiplexes concurrent streaming generates over one stdio, each with its own tokens and result', async () => {
    const streams = new Map<string, TokensNotification[]>();
    const calls = Array.from({ length: 6 }, (_, i) => {
      const id = `m${i}`;
      streams.set(id, []);
      return rt.client.generate({ request_id: id, model: 'tiny', prompt: `Story number ${i}:`, max_tokens: 6 + i, temperature: 0 }, (t) => streams.get(id)!.push(t));
    });
    const results = await Promise.all(calls.map((c) => c.result));
    results.forEach((r, i) => {
      expect(r.request_id).toBe(`m${i}`);
      expect(r.usage.completion_tokens).toBeLessThanOrEqual(6 + i);
      const toks = streams.get(`m${i}`)!;
      expect(toks.flatMap((t) => t.token_ids)).toEqual(r.token_ids);
      expect(toks.map((t) => t.text).join('')).toBe(r.text);
    });
    expect(rt.client.pendingCount).toBe(0);
  });

  it('maps runtime errors (invalid params → client fault, unknown model → model_not_loaded)', async () => {
    const bad = await rt.client.generate({ request_id: 'bad', model: 'tiny', prompt: 'x', max_tokens: 2_000_000 }, () => undefined).result.catch((e: unknown) => e);
    expect(bad).toBeInstanceOf(RuntimeRpcError);
    expect((bad as RuntimeRpcError).code).toBe(RPC.invalidParams);
    expect(toWorkerError(bad).toEvent()).toMatchObject({ code: 'invalid_request', clientFault: true });
    const missing = await rt.client.generate({ request_id: 'missing', model: 'nope', prompt: 'x' }, () => undefined).result.catch((e: unknown) => e);
    expect(toWorkerError(missing).toEvent()).toMatchObject({ code: 'model_not_loaded', clientFault: false });
  });

  it('cancels a running generate (the result says cancelled)', async () => {
    let first: () => void = () => undefined;
    const started = new Promise<void>((r) => (first = r));
    const g = rt.client.generate({ request_id: 'long', model: 'tiny', prompt: 'Go on and on', max_tokens: 3000 }, () => first());
    await started;
    expect((await rt.client.call('cancel', { request_id: 'long' })).cancelled).toBe(true);
    const r = await g.result;
    expect(r.finish_reason).toBe('cancelled');
    expect(r.usage.completion_tokens).toBeLessThan(3000);
  });

  it('answers embed, tokenize, list_models and stats', async () => {
    const e = await rt.client.call('embed', { model: 'tiny', input: ['hello', 'world'] });
    expect(e.embeddings).toHaveLength(2);
    expect(Math.hypot(...e.embeddings[0]!)).toBeCloseTo(1, 3);
    const t = await rt.client.call('tokenize', { model: 'tiny', text: 'hello world' });
    expect(t.count).toBeGreaterThan(0);
    const m = await rt.client.call('list_models', {});
    expect(m.models[0]!.kv_bytes_per_token).toBeGreaterThan(0);
    const s = await rt.client.call('stats', {});
    expect(s.max_sequences).toBe(8);
  });

  it('a killed runtime fails its pending calls with RuntimeGoneError', async () => {
    const g = rt.client.generate({ request_id: 'doomed', model: 'tiny', prompt: 'x', max_tokens: 3000 }, () => undefined);
    rt.kill();
    expect(await g.result.catch((e: unknown) => e)).toBeInstanceOf(RuntimeGoneError);
    await rt.exited;
    expect(rt.alive).toBe(false);
  });
});
