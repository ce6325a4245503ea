// The gateway's spans and the core's decisions as span events (request-tracing.ts), on the driver with
// a manual clock and a fake transport, spans kept in memory.
import { ROOT_CONTEXT, trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { GatewayCore, resolveGatewayConfig, type InferenceRequest, type TerminalCommand } from '../../core/index.js';
import { makeRequest, makeStatus, testRng } from '../../core/gateway/test-support.js';
import type { Clock } from '../shared/clock.js';
import { extractContext } from '../shared/tracing.js';
import { CoreDriver, type RequestSink } from './core-driver.js';
import { RequestTracer } from './request-tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

class ManualClock implements Clock {
  t = 1000;
  nowMs(): number { return this.t; }
  wallMs(): number { return 1_700_000_000_000 + this.t; }
}

class Sink implements RequestSink {
  readonly traceId = 'trace';
  readonly deadlineUnixMs = 0;
  ended: TerminalCommand | undefined;
  tokens(): void {}
  workerDone(): void {}
  finish(cmd: TerminalCommand): void { this.ended = cmd; }
}

function setup(core: Record<string, unknown>, workers = ['w1']) {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const clock = new ManualClock();
  const sent: { workerId: string; id: string; traceparent: string }[] = [];
  const gatewayCore = new GatewayCore(resolveGatewayConfig(core), testRng(1));
  const tracer = new RequestTracer(provider.getTracer('test'), gatewayCore, () => clock.nowMs());
  const driver = new CoreDriver(gatewayCore, clock, {
    dispatch: (workerId, requests: readonly InferenceRequest[]) => { for (const r of requests) sent.push({ workerId, id: r.id, traceparent: tracer.traceparentFor(r.id) }); },
    cancel: () => undefined,
  });
  driver.tracer = tracer;
  for (const w of workers) driver.workerStatus(makeStatus(w));
  const arrive = (req: InferenceRequest, headers: Record<string, string> = {}) => {
    const sink = new Sink();
    tracer.begin(req, headers, '/v1/chat/completions', `http-${req.id}`);
    driver.arrive(req, sink);
    return sink;
  };
  const spans = (name: string): ReadableSpan[] => exporter.getFinishedSpans().filter((s) => s.name === name);
  const eventsOf = (s: ReadableSpan) => s.events.map((e) => e.name);
  return { clock, sent, driver, arrive, spans, eventsOf };
}

const done = (requestId: string, workerId = 'w1') => ({ kind: 'done' as const, workerId, requestId, output: { finishReason: 'stop' as const, promptTokens: 3, completionTokens: 2 } });

describe('gateway request tracing', () => {
  it('continues the caller\'s trace: gateway.request → worker.generate, whose context goes to the worker; queued, cache_miss, route', async () => {
    const { sent, driver, arrive, spans, eventsOf, clock } = setup({ batching: { type: 'micro', windowMs: 5, maxBatchSize: 8, dispatchWhenIdle: false } });
    const sink = arrive(makeRequest('a', { text: 'cacheable' }), { traceparent: TRACEPARENT });
    expect(sent).toEqual([]); // inside the batching window
    clock.t += 5;
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toHaveLength(1);
    driver.workerEvent({ kind: 'tokens', workerId: 'w1', requestId: 'a', tokens: 1, text: 'x' });
    driver.workerEvent(done('a'));
    expect(sink.ended?.type).toBe('complete');
    const [gw] = spans('gateway.request');
    const [attempt] = spans('worker.generate');
    expect(gw!.spanContext().traceId).toBe(TRACE_ID);
    expect(gw!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(attempt!.parentSpanContext?.spanId).toBe(gw!.spanContext().spanId);
    // what the worker node receives names the attempt's span as its parent
    expect(trace.getSpanContext(extractContext(sent[0]!.traceparent))).toMatchObject({ traceId: TRACE_ID, spanId: attempt!.spanContext().spanId });
    expect(eventsOf(gw!)).toEqual(['gateway.queued', 'gateway.cache_miss', 'gateway.route']);
    expect(gw!.events[2]!.attributes).toMatchObject({ 'mlx.worker.id': 'w1', 'mlx.attempt': 1, 'mlx.batch.size': 1 });
    expect(eventsOf(attempt!)).toEqual(['first_token']);
    expect(gw!.attributes).toMatchObject({ 'mlx.served.via': 'worker', 'gen_ai.usage.output_tokens': 2, 'mlx.request.id': 'http-a' });
    driver.stop();
  });

  it('a malformed traceparent starts a new trace', () => {
    const { driver, arrive, spans } = setup({ batching: { type: 'none' } });
    arrive(makeRequest('a', { sampling: { temperature: 1 } }), { traceparent: '00-zzzz-not-valid-01' });
    driver.workerEvent(done('a'));
    const [gw] = spans('gateway.request');
    expect(gw!.parentSpanContext).toBeUndefined();
    expect(gw!.spanContext().traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(trace.getSpanContext(extractContext('garbage'))).toBeUndefined();
    expect(extractContext(undefined)).toBe(ROOT_CONTEXT);
    driver.stop();
  });

  it('a worker failure: worker_error, the breaker that opened, a retry on another worker, two attempt spans', async () => {
    const { sent, driver, arrive, spans, eventsOf, clock } = setup({
      batching: { type: 'none' }, routing: { type: 'round-robin' }, breaker: { volumeMin: 1, errorRateMax: 0.1 },
    }, ['w1', 'w2']);
    const sink = arrive(makeRequest('a', { sampling: { temperature: 1 } }));
    const first = sent[0]!.workerId;
    driver.workerEvent({ kind: 'error', workerId: first, requestId: 'a', failure: { code: 'runtime_crashed', message: 'gone' } });
    for (let i = 0; i < 20 && sent.length < 2; i++) {
      clock.t += 100;
      await new Promise((r) => setTimeout(r, 5));
    }
    expect(sent).toHaveLength(2);
    expect(sent[1]!.workerId).not.toBe(first);
    driver.workerEvent(done('a', sent[1]!.workerId));
    expect(sink.ended?.type).toBe('complete');
    const [gw] = spans('gateway.request');
    expect(eventsOf(gw!)).toEqual(['gateway.route', 'gateway.worker_error', 'gateway.breaker', 'gateway.retry', 'gateway.route']);
    expect(gw!.events[2]!.attributes).toMatchObject({ 'mlx.worker.id': first, 'mlx.breaker.state': 'open' });
    const attempts = spans('worker.generate');
    expect(attempts.map((s) => s.status.code)).toEqual([2, 0]); // ERROR, then UNSET
    expect(attempts.map((s) => s.attributes['mlx.attempt'])).toEqual([1, 2]);
    driver.stop();
  });

  it('coalescing, a cache hit and a refusal are events on their own request\'s span', () => {
    const { driver, arrive, spans, eventsOf } = setup({ batching: { type: 'none' } });
    arrive(makeRequest('a', { text: 'same' }));
    arrive(makeRequest('b', { text: 'same' }));
    driver.workerEvent(done('a'));
    arrive(makeRequest('c', { text: 'same' }));
    arrive(makeRequest('d', { model: 'not-served', sampling: { temperature: 1 } }));
    const byJob = new Map(spans('gateway.request').map((s) => [s.attributes['mlx.job.id'], s]));
    expect(eventsOf(byJob.get('b')!)).toEqual(['gateway.coalesced']);
    expect(byJob.get('b')!.attributes['mlx.served.via']).toBe('coalesced');
    expect(eventsOf(byJob.get('c')!)).toEqual(['gateway.cache_hit']);
    expect(byJob.get('c')!.events[0]!.attributes).toMatchObject({ 'mlx.cache.source': 'dedupe' });
    const refused = byJob.get('d')!;
    expect(eventsOf(refused)).toEqual(['gateway.rejected']);
    expect(refused.status.code).toBe(2);
    expect(spans('worker.generate')).toHaveLength(1); // only the leader went to a worker
    driver.stop();
  });
});
