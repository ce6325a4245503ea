// OpenTelemetry traces end to end (issue 18): the official `openai` client sends a request with a W3C
// `traceparent` through the real gateway, worker node and python runtime (tiny model), all three
// exporting over real OTLP/HTTP (enabled by OTEL_EXPORTER_OTLP_ENDPOINT alone) to a receiver in this
// test that decodes the protobuf. One trace, the client's, with the chain
//   client span → gateway.request → worker.generate (client) → worker.generate (server) → runtime.generate → queue/prefill/decode
// and the gateway core's decisions as events. An embeddings call carries the context in gRPC metadata. A repeat is answered by the response cache (its own
// trace: a cache_hit, no worker span); a malformed traceparent starts a new trace and the request succeeds.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from '../shared/otlp-receiver.js';
import { until } from '../shared/poll.js';
import { startTinyStack, type TinyStack } from './test-support.js';

const API_KEY = 'sk-tracing-e2e-0001';
const SERVER = 2;
const CLIENT = 3;
const ENV_KEYS = ['OTEL_EXPORTER_OTLP_ENDPOINT', 'OTEL_BSP_SCHEDULE_DELAY', 'OTEL_SERVICE_NAME', 'OTEL_TRACES_EXPORTER', 'OTEL_SDK_DISABLED', 'OTEL_TRACES_SAMPLER'] as const;

const newTraceparent = () => {
  const traceId = randomBytes(16).toString('hex');
  const parentId = randomBytes(8).toString('hex');
  return { traceId, parentId, header: `00-${traceId}-${parentId}-01` };
};

describe('OpenTelemetry traces over OTLP/HTTP (gateway, worker node, python runtime)', () => {
  let receiver: OtlpReceiver;
  let stack: TinyStack | undefined;
  const saved: Partial<Record<(typeof ENV_KEYS)[number], string | undefined>> = {};

  const inTrace = (traceId: string) => receiver.spans.filter((s) => s.traceId === traceId);
  const one = (spans: readonly ReceivedSpan[], service: string, name: string): ReceivedSpan => {
    const found = spans.filter((s) => s.service === service && s.name === name);
    expect(found, `${service} ${name}`).toHaveLength(1);
    return found[0]!;
  };

  beforeAll(async () => {
    receiver = await startOtlpReceiver();
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    for (const k of ENV_KEYS) delete process.env[k];
    // Set before the worker node spawns its runtime: the python runtime reads the same variables.
    process.env.OTEL_EXPORTER_OTLP_ENDPOINT = receiver.url;
    process.env.OTEL_BSP_SCHEDULE_DELAY = '50';
    stack = await startTinyStack('tracing', API_KEY);
  }, 90_000);

  afterAll(async () => {
    await stack?.stop();
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
    await receiver?.close();
  });

  it('one trace, the caller\'s, from the gateway through the worker node to the runtime, with the core\'s decisions', async () => {
    const tp = newTraceparent();
    const body = { model: 'tiny', messages: [{ role: 'user' as const, content: 'Name a tracing lighthouse.' }], max_tokens: 6, temperature: 0 };
    const res = await stack!.openai.chat.completions.create(body, { headers: { traceparent: tp.header } });
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    await until(() => inTrace(tp.traceId).some((s) => s.name === 'runtime.decode') && inTrace(tp.traceId).some((s) => s.name === 'gateway.request'), 20_000, 25, 'spans of all three services');

    const spans = inTrace(tp.traceId);
    expect(new Set(spans.map((s) => s.service))).toEqual(new Set(['mlx-serving-gateway', 'mlx-serving-worker', 'mlx-serving-runtime']));
    const gw = one(spans, 'mlx-serving-gateway', 'gateway.request');
    const attempt = one(spans, 'mlx-serving-gateway', 'worker.generate');
    const node = one(spans, 'mlx-serving-worker', 'worker.generate');
    const rt = one(spans, 'mlx-serving-runtime', 'runtime.generate');
    expect([gw.kind, attempt.kind, node.kind, rt.kind]).toEqual([SERVER, CLIENT, SERVER, SERVER]);
    // the chain of parents: the caller's span → gateway → its attempt → worker node → runtime → phases
    expect(gw.parentSpanId).toBe(tp.parentId);
    expect(attempt.parentSpanId).toBe(gw.spanId);
    expect(node.parentSpanId).toBe(attempt.spanId);
    expect(rt.parentSpanId).toBe(node.spanId);
    for (const phase of ['runtime.queue', 'runtime.prefill', 'runtime.decode']) expect(one(spans, 'mlx-serving-runtime', phase).parentSpanId).toBe(rt.spanId);

    // the core's decisions, as span events of gateway.request
    const events = gw.events.map((e) => e.name);
    expect(events).toContain('gateway.cache_miss');
    const route = gw.events.find((e) => e.name === 'gateway.route');
    expect(route?.attributes['mlx.worker.id']).toBe('w1');
    expect(route?.attributes['mlx.attempt']).toBe(1);
    expect(events).not.toContain('gateway.retry');
    expect(gw.attributes['gen_ai.usage.output_tokens']).toBe(res.usage!.completion_tokens);
    expect(node.attributes['gen_ai.usage.output_tokens']).toBe(res.usage!.completion_tokens);
    expect(node.events.map((e) => e.name)).toContain('first_token');
    expect(rt.attributes['gen_ai.usage.output_tokens']).toBe(res.usage!.completion_tokens);
    for (const s of [gw, attempt, node, rt]) expect(s.status, s.name).not.toBe(2);

    // the same request again: the response cache answers, in the caller's new trace, without a worker
    const tp2 = newTraceparent();
    const again = await stack!.openai.chat.completions.create(body, { headers: { traceparent: tp2.header } });
    expect(again.choices[0]!.message.content).toBe(res.choices[0]!.message.content);
    await until(() => inTrace(tp2.traceId).some((s) => s.name === 'gateway.request'), 10_000, 25, 'the cache hit\'s span');
    const hit = one(inTrace(tp2.traceId), 'mlx-serving-gateway', 'gateway.request');
    expect(hit.parentSpanId).toBe(tp2.parentId);
    expect(hit.events.find((e) => e.name === 'gateway.cache_hit')?.attributes['mlx.cache.source']).toMatch(/^(dedupe|cache)$/);
    expect(inTrace(tp2.traceId).filter((s) => s.name !== 'gateway.request')).toEqual([]);
  }, 60_000);

  it('an embeddings call carries the trace context in its gRPC metadata', async () => {
    const tp = newTraceparent();
    const e = await stack!.openai.embeddings.create({ model: 'tiny', input: 'traced words', encoding_format: 'float' }, { headers: { traceparent: tp.header } });
    expect(e.data[0]!.embedding.length).toBeGreaterThan(0);
    await until(() => inTrace(tp.traceId).some((s) => s.name === 'worker.embed') && inTrace(tp.traceId).some((s) => s.name === 'gateway.request'), 20_000, 25, 'the embedding spans');
    const spans = inTrace(tp.traceId);
    const gw = one(spans, 'mlx-serving-gateway', 'gateway.request');
    const call = one(spans, 'mlx-serving-gateway', 'worker.call');
    const node = one(spans, 'mlx-serving-worker', 'worker.embed');
    expect([gw.parentSpanId, call.parentSpanId, node.parentSpanId]).toEqual([tp.parentId, gw.spanId, call.spanId]);
  }, 60_000);

  it('a malformed traceparent starts a new trace; the request succeeds', async () => {
    const requestId = `trace-bad-${randomBytes(4).toString('hex')}`;
    const res = await stack!.openai.chat.completions.create(
      { model: 'tiny', messages: [{ role: 'user' as const, content: 'Is this traced?' }], max_tokens: 4, temperature: 0 },
      { headers: { traceparent: '00-not-a-trace-context-zz', 'x-request-id': requestId, 'cache-control': 'no-cache' } },
    );
    expect(res.usage!.completion_tokens).toBeGreaterThan(0);
    const mine = () => receiver.spans.find((s) => s.name === 'gateway.request' && s.attributes['mlx.request.id'] === requestId);
    await until(() => mine() !== undefined && inTrace(mine()!.traceId).some((s) => s.name === 'runtime.generate'), 20_000, 25, 'the new trace');
    const gw = mine()!;
    expect(gw.parentSpanId).toBe('');
    expect(gw.traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(one(inTrace(gw.traceId), 'mlx-serving-worker', 'worker.generate').attributes['mlx.request.id']).toBe(requestId);
  }, 60_000);
});
