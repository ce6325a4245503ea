// The worker node's span (request-tracing.ts) and the trace context it passes on: from the request's
// own traceparent field (Session) or the call's gRPC metadata (Generate) in, to the runtime's JSON-RPC
// generate params out.
import * as grpc from '@grpc/grpc-js';
import { trace } from '@opentelemetry/api';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import type { GenerateEventIn, GenerateRequestMsg } from '../shared/proto.js';
import { extractContext } from '../shared/tracing.js';
import { toGenerateRequest } from '../gateway/request-mapping.js';
import { makeRequest } from '../../core/gateway/test-support.js';
import { runtimeParams } from './generate-mapping.js';
import { traceparentOfMetadata, WorkerTracer } from './request-tracing.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const PARENT_ID = '00f067aa0ba902b7';
const TRACEPARENT = `00-${TRACE_ID}-${PARENT_ID}-01`;

function request(over: Partial<GenerateRequestMsg> = {}): GenerateRequestMsg {
  return {
    requestId: 'r1', model: 'tiny', prompt: 'hi', messages: [], maxTokens: 4, temperature: 0, topP: 1, stop: [], sessionId: '', traceId: 'req-1', deadlineUnixMs: 0, ...over,
  };
}

function setup() {
  const exporter = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = new WorkerTracer(provider.getTracer('test'), 'w1');
  const submitted: GenerateRequestMsg[] = [];
  const seen: GenerateEventIn[] = [];
  const submit = (req: GenerateRequestMsg) => {
    submitted.push(req);
    return { cancel: () => undefined };
  };
  return { exporter, tracer, submitted, seen, submit };
}

describe('worker node tracing', () => {
  it('the gateway passes its attempt span per request in GenerateRequest.traceparent (empty when not traced)', () => {
    expect(toGenerateRequest(makeRequest('a'), undefined, TRACEPARENT).traceparent).toBe(TRACEPARENT);
    expect(toGenerateRequest(makeRequest('a'), undefined).traceparent).toBeUndefined();
  });

  it('a worker.generate span under the request\'s traceparent; the runtime gets the span\'s own context as a generate param', () => {
    const { exporter, tracer, submitted, seen, submit } = setup();
    let sink: ((ev: GenerateEventIn) => void) | undefined;
    tracer.submit(request({ traceparent: TRACEPARENT }), (ev) => seen.push(ev), (req, s) => {
      sink = s;
      return submit(req);
    });
    sink!({ requestId: 'r1', tokens: { text: 'a', tokenIds: [1], count: 1, logprobs: [] } });
    sink!({ requestId: 'r1', tokens: { text: 'b', tokenIds: [2], count: 1, logprobs: [] } });
    sink!({ requestId: 'r1', done: { finishReason: 'stop', promptTokens: 3, completionTokens: 2, cachedPromptTokens: 0, queueMs: 1.5, prefillMs: 4, decodeMs: 9 } });
    expect(seen).toHaveLength(3); // events pass through untouched
    const [span] = exporter.getFinishedSpans();
    expect(span!.name).toBe('worker.generate');
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span!.spanContext().traceId).toBe(TRACE_ID);
    expect(span!.events.map((e) => e.name)).toEqual(['first_token']);
    expect(span!.attributes).toMatchObject({ 'mlx.worker.id': 'w1', 'mlx.queue_ms': 1.5, 'mlx.prefill_ms': 4, 'mlx.decode_ms': 9, 'gen_ai.usage.output_tokens': 2 });
    const params = runtimeParams(submitted[0]!, 256);
    expect(trace.getSpanContext(extractContext(params.traceparent))).toMatchObject({ traceId: TRACE_ID, spanId: span!.spanContext().spanId });
  });

  it('takes the context from the call\'s gRPC metadata when the request has none (Generate)', () => {
    const { exporter, tracer, submit } = setup();
    const md = new grpc.Metadata();
    md.set('traceparent', TRACEPARENT);
    expect(traceparentOfMetadata(md)).toBe(TRACEPARENT);
    const h = tracer.submit(request(), () => undefined, submit, traceparentOfMetadata(md));
    h.cancel();
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext?.spanId).toBe(PARENT_ID);
    expect(span!.events.map((e) => e.name)).toEqual(['cancelled']);
  });

  it('a malformed traceparent starts a new trace and the request still runs; an error ends the span with its code', () => {
    const { exporter, tracer, submitted } = setup();
    let sink: ((ev: GenerateEventIn) => void) | undefined;
    tracer.submit(request({ traceparent: 'not-a-traceparent' }), () => undefined, (req, s) => {
      submitted.push(req);
      sink = s;
      return { cancel: () => undefined };
    });
    expect(submitted).toHaveLength(1);
    sink!({ requestId: 'r1', error: { code: 'runtime_crashed', message: 'gone', clientFault: false } });
    const [span] = exporter.getFinishedSpans();
    expect(span!.parentSpanContext).toBeUndefined();
    expect(span!.status).toMatchObject({ code: 2, message: 'runtime_crashed' });
  });

  it('sends no traceparent to the runtime for an untraced request', () => {
    expect('traceparent' in runtimeParams(request(), 256)).toBe(false);
  });
});
