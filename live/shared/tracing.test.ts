// Tracing set-up from the OTEL_* variables (off by default), samplers, and W3C context in and out.
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base';
import { describe, expect, it } from 'vitest';
import { createTracing, extractContext, samplerOf, traceparentOf, tracesEndpointOf, TRACING_OFF } from './tracing.js';

const TRACEPARENT = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';

describe('tracing configuration', () => {
  it('is off unless the standard variables ask for traces', () => {
    expect(tracesEndpointOf({})).toBeUndefined();
    expect(createTracing({ serviceName: 's', env: {} })).toBe(TRACING_OFF);
    expect(TRACING_OFF.tracer).toBeUndefined();
    expect(tracesEndpointOf({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318/' })).toBe('http://c:4318/v1/traces');
    expect(tracesEndpointOf({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://c/x', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://b' })).toBe('http://c/x');
    expect(tracesEndpointOf({ OTEL_TRACES_EXPORTER: 'otlp' })).toBe('http://localhost:4318/v1/traces');
    expect(tracesEndpointOf({ OTEL_TRACES_EXPORTER: 'none', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' })).toBeUndefined();
    expect(tracesEndpointOf({ OTEL_TRACES_EXPORTER: 'zipkin', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' })).toBeUndefined();
    expect(tracesEndpointOf({ OTEL_SDK_DISABLED: 'TRUE', OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c' })).toBeUndefined();
  });

  it('builds a provider with the OTLP endpoint when enabled', async () => {
    const t = createTracing({ serviceName: 'mlx-serving-gateway', env: { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:9' } });
    expect(t.tracer).toBeDefined();
    expect(t.endpoint).toBe('http://127.0.0.1:9/v1/traces');
    await t.shutdown(); // nothing buffered: no export attempted
  });

  it('names the sampler the variables ask for (default parentbased_always_on)', () => {
    expect(samplerOf({}).toString()).toMatch(/ParentBased\{root=AlwaysOnSampler/);
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'always_off' }).toString()).toBe('AlwaysOffSampler');
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_SAMPLER_ARG: '0.25' }).toString()).toBe('TraceIdRatioBased{0.25}');
    expect(samplerOf({ OTEL_TRACES_SAMPLER: 'parentbased_traceidratio', OTEL_TRACES_SAMPLER_ARG: '7' }).toString()).toMatch(/TraceIdRatioBased\{1\}/);
  });

  it('samples by the variables and names the service by OTEL_SERVICE_NAME', async () => {
    const exporter = new InMemorySpanExporter();
    const off = createTracing({ serviceName: 's', env: { OTEL_TRACES_SAMPLER: 'always_off' }, exporter });
    off.tracer!.startSpan('x').end();
    const on = createTracing({ serviceName: 'default-name', env: { OTEL_SERVICE_NAME: 'renamed' }, exporter });
    on.tracer!.startSpan('y').end();
    await off.flush();
    await on.flush();
    const names = exporter.getFinishedSpans().map((s) => [s.name, s.resource.attributes['service.name']]);
    expect(names).toEqual([['y', 'renamed']]);
    await Promise.all([off.shutdown(), on.shutdown()]);
  });

  it('extracts a valid traceparent, ignores a malformed one, and injects a span\'s', () => {
    const ctx = extractContext(TRACEPARENT);
    expect(trace.getSpanContext(ctx)).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', isRemote: true });
    for (const bad of ['', 'garbage', '00-00000000000000000000000000000000-00f067aa0ba902b7-01', '00-4bf92f3577b34da6a3ce929d0e0e4736-xyz-01']) {
      expect(trace.getSpanContext(extractContext(bad)), bad).toBeUndefined();
    }
    const span = trace.wrapSpanContext(trace.getSpanContext(ctx)!);
    expect(traceparentOf(span)).toBe(TRACEPARENT);
  });
});
