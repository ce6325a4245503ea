// OpenTelemetry tracing for one process (gateway or worker node), off by default and configured only by
// the standard OTEL_* variables (README, "Tracing"):
//
//   OTEL_SDK_DISABLED=true                   off, whatever else is set
//   OTEL_TRACES_EXPORTER=otlp | none         otlp: on; none: off; unset: on iff an OTLP endpoint is set
//   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT       the full URL (…/v1/traces)
//   OTEL_EXPORTER_OTLP_ENDPOINT              the base URL; /v1/traces is appended (the spec's rule)
//   OTEL_EXPORTER_OTLP_HEADERS, …_TIMEOUT    read by the exporter itself
//   OTEL_TRACES_SAMPLER, …_SAMPLER_ARG       always_on | always_off | traceidratio | parentbased_* (default parentbased_always_on)
//   OTEL_SERVICE_NAME                        over the process's default (mlx-serving-gateway / -worker)
//   OTEL_BSP_*                               read by the batch span processor itself
//
// Each process gets its own provider, passed in (never registered globally: a test runs a gateway and a
// worker node in one process, each with its own service name). When off, `tracer` is undefined and the
// call sites skip all tracing work: no provider, no exporter, no span objects.
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, type Context, type Span, type Tracer } from '@opentelemetry/api';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AlwaysOffSampler, AlwaysOnSampler, BasicTracerProvider, BatchSpanProcessor, ParentBasedSampler, TraceIdRatioBasedSampler,
  type Sampler, type SpanExporter,
} from '@opentelemetry/sdk-trace-base';
import { ATTR_SERVICE_NAME } from '@opentelemetry/semantic-conventions';

export interface Tracing {
  /** Undefined when tracing is off: callers test it and do nothing else. */
  readonly tracer: Tracer | undefined;
  /** Where spans go ('' when off), for the start-up log. */
  readonly endpoint: string;
  /** Exports what is buffered now (a no-op when off). */
  flush(): Promise<void>;
  /** Exports what is buffered and stops (call on shutdown; a no-op when off). */
  shutdown(): Promise<void>;
}

export const TRACING_OFF: Tracing = { tracer: undefined, endpoint: '', flush: async () => undefined, shutdown: async () => undefined };

const propagator = new W3CTraceContextPropagator();
const GETTER = { get: (c: Record<string, string>, k: string) => c[k], keys: (c: Record<string, string>) => Object.keys(c) };
const SETTER = { set: (c: Record<string, string>, k: string, v: string) => { c[k] = v; } };
const RATIO_DEFAULT = 1;

/** Whether the OTEL_* variables ask for traces, and where to send them. */
export function tracesEndpointOf(env: NodeJS.ProcessEnv): string | undefined {
  if ((env.OTEL_SDK_DISABLED ?? '').trim().toLowerCase() === 'true') return undefined;
  const exporters = (env.OTEL_TRACES_EXPORTER ?? '').split(',').map((s) => s.trim().toLowerCase()).filter((s) => s !== '');
  if (exporters.includes('none') || (exporters.length > 0 && !exporters.includes('otlp'))) return undefined;
  const traces = (env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ?? '').trim();
  if (traces !== '') return traces;
  const base = (env.OTEL_EXPORTER_OTLP_ENDPOINT ?? '').trim();
  if (base !== '') return `${base.replace(/\/+$/, '')}/v1/traces`;
  // OTEL_TRACES_EXPORTER=otlp alone: the spec's default endpoint.
  return exporters.includes('otlp') ? 'http://localhost:4318/v1/traces' : undefined;
}

/** The sampler OTEL_TRACES_SAMPLER / OTEL_TRACES_SAMPLER_ARG name (the SDK's values; default parentbased_always_on). */
export function samplerOf(env: NodeJS.ProcessEnv): Sampler {
  const name = (env.OTEL_TRACES_SAMPLER ?? '').trim().toLowerCase();
  const arg = Number(env.OTEL_TRACES_SAMPLER_ARG ?? RATIO_DEFAULT);
  const ratio = Number.isFinite(arg) && arg >= 0 && arg <= 1 ? arg : RATIO_DEFAULT;
  switch (name) {
    case 'always_on': return new AlwaysOnSampler();
    case 'always_off': return new AlwaysOffSampler();
    case 'traceidratio': return new TraceIdRatioBasedSampler(ratio);
    case 'parentbased_always_off': return new ParentBasedSampler({ root: new AlwaysOffSampler() });
    case 'parentbased_traceidratio': return new ParentBasedSampler({ root: new TraceIdRatioBasedSampler(ratio) });
    default: return new ParentBasedSampler({ root: new AlwaysOnSampler() });
  }
}

export interface TracingOptions {
  /** The default service name (OTEL_SERVICE_NAME wins). */
  readonly serviceName: string;
  readonly env?: NodeJS.ProcessEnv;
  /** Tests: export here instead of OTLP (tracing is then on whatever the variables say). */
  readonly exporter?: SpanExporter;
}

/** A provider for this process when the variables ask for one; TRACING_OFF otherwise. */
export function createTracing(opts: TracingOptions): Tracing {
  const env = opts.env ?? process.env;
  const endpoint = opts.exporter !== undefined ? 'test' : tracesEndpointOf(env);
  if (endpoint === undefined) return TRACING_OFF;
  const serviceName = (env.OTEL_SERVICE_NAME ?? '').trim() || opts.serviceName;
  const exporter = opts.exporter ?? new OTLPTraceExporter({ url: endpoint });
  const provider = new BasicTracerProvider({
    resource: resourceFromAttributes({ [ATTR_SERVICE_NAME]: serviceName }),
    sampler: samplerOf(env),
    spanProcessors: [new BatchSpanProcessor(exporter)],
  });
  return { tracer: provider.getTracer('mlx-serving'), endpoint, flush: () => provider.forceFlush(), shutdown: () => provider.shutdown() };
}

// ───────────────────────────── W3C trace context ─────────────────────────────

/** The context a `traceparent` (and `tracestate`) carries; the root context when malformed or absent. */
export function extractContext(traceparent: string | undefined, tracestate?: string): Context {
  if (traceparent === undefined || traceparent === '') return ROOT_CONTEXT;
  const carrier: Record<string, string> = { traceparent };
  if (tracestate !== undefined && tracestate !== '') carrier.tracestate = tracestate;
  return propagator.extract(ROOT_CONTEXT, carrier, GETTER);
}

/** The `traceparent` header value that makes `span` the parent ('' for a span that is not recording a valid context). */
export function traceparentOf(span: Span): string {
  const carrier: Record<string, string> = {};
  propagator.inject(trace.setSpan(ROOT_CONTEXT, span), carrier, SETTER);
  return carrier.traceparent ?? '';
}

/** The context in which `span` is the parent. */
export function contextOf(span: Span): Context {
  return trace.setSpan(ROOT_CONTEXT, span);
}

/** The first value of a header or gRPC metadata entry that may be repeated. */
export function firstValue(v: unknown): string | undefined {
  const first: unknown = Array.isArray(v) ? v[0] : v;
  if (typeof first === 'string') return first;
  return Buffer.isBuffer(first) ? first.toString('latin1') : undefined;
}

// Re-exported so call sites import OTel names from one place.
export { SpanKind, SpanStatusCode, type Span, type Tracer };
