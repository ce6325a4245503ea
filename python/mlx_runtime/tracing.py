"""OpenTelemetry traces of the runtime's generate requests: off by default, on through the standard
OTEL_* variables, as in the gateway and the worker node (live/shared/tracing.ts, README "Tracing"):

  OTEL_SDK_DISABLED=true               off, whatever else is set
  OTEL_TRACES_EXPORTER=otlp | none     otlp: on; none: off; unset: on iff an OTLP endpoint is set
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   the full URL; else OTEL_EXPORTER_OTLP_ENDPOINT + /v1/traces
  OTEL_TRACES_SAMPLER(_ARG), OTEL_BSP_*, OTEL_EXPORTER_OTLP_HEADERS …   read by the SDK itself
  OTEL_SERVICE_NAME                    default mlx-serving-runtime

Spans, all made when a request ends (nothing per token or per step, so the decode loop pays nothing
even when tracing is on; when it is off the SDK is not even imported):

  runtime.generate   received → finished; parent: the worker node's span, from the generate param
                     `traceparent` (a malformed or absent one starts a new trace)
    runtime.queue    received → admitted
    runtime.prefill  admitted → first token (event first_token at its end)
    runtime.decode   first token → finished
"""

from __future__ import annotations

import os
import time
from typing import Any, Mapping, Optional

SERVICE_NAME = "mlx-serving-runtime"


def traces_endpoint(env: Mapping[str, str]) -> Optional[str]:
    """Where the OTEL_* variables send traces, or None when they do not ask for them."""
    if env.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return None
    exporters = [e.strip().lower() for e in env.get("OTEL_TRACES_EXPORTER", "").split(",") if e.strip()]
    if "none" in exporters or (exporters and "otlp" not in exporters):
        return None
    traces = env.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "").strip()
    if traces:
        return traces
    base = env.get("OTEL_EXPORTER_OTLP_ENDPOINT", "").strip()
    if base:
        return base.rstrip("/") + "/v1/traces"
    return "http://localhost:4318/v1/traces" if "otlp" in exporters else None


class NoTracing:
    """Tracing off: the engine checks `enabled` and does nothing else."""

    enabled = False

    def finished(self, req: Any, reason: str, end: float, error: Optional[str] = None) -> None:
        pass

    def shutdown(self) -> None:
        pass


class OtelTracing:
    enabled = True

    def __init__(self, exporter: Any, env: Mapping[str, str], batch: bool = True):
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        name = env.get("OTEL_SERVICE_NAME", "").strip() or SERVICE_NAME
        # Not registered as the global provider: the runtime owns it, and tests make several.
        self.provider = TracerProvider(resource=Resource.create({"service.name": name}))
        self.provider.add_span_processor(BatchSpanProcessor(exporter) if batch else SimpleSpanProcessor(exporter))
        self.tracer = self.provider.get_tracer("mlx_runtime")
        self.propagator = TraceContextTextMapPropagator()

    def _wall_ns(self, t: float, now_perf: float, now_ns: int) -> int:
        """A time.perf_counter() instant as Unix nanoseconds (spans are made after the fact)."""
        return now_ns - int((now_perf - t) * 1e9)

    def finished(self, req: Any, reason: str, end: float, error: Optional[str] = None) -> None:
        from opentelemetry.trace import SpanKind, Status, StatusCode, set_span_in_context

        now_perf, now_ns = time.perf_counter(), time.time_ns()
        ns = lambda t: self._wall_ns(t, now_perf, now_ns)  # noqa: E731
        tp = getattr(req, "traceparent", None)
        parent = self.propagator.extract({"traceparent": tp}) if tp else None
        span = self.tracer.start_span("runtime.generate", context=parent, kind=SpanKind.SERVER, start_time=ns(req.received_at), attributes={
            "mlx.runtime.request_id": req.request_id, "gen_ai.request.model": req.lm.name,
            "gen_ai.usage.input_tokens": len(req.prompt), "gen_ai.usage.output_tokens": len(req.token_ids),
            "mlx.cached_tokens": req.cached_tokens, "mlx.finish_reason": reason, "pid": os.getpid(),
        })
        ctx = set_span_in_context(span)
        first = req.first_token_at
        self.tracer.start_span("runtime.queue", context=ctx, start_time=ns(req.received_at)).end(end_time=ns(req.admitted_at))
        prefill_end = first if first is not None else end
        prefill = self.tracer.start_span("runtime.prefill", context=ctx, start_time=ns(req.admitted_at), attributes={
            "mlx.prefill_tokens": len(req.prompt) - req.cached_tokens})
        if first is not None:
            prefill.add_event("first_token", timestamp=ns(first))
        prefill.end(end_time=ns(prefill_end))
        if first is not None:
            self.tracer.start_span("runtime.decode", context=ctx, start_time=ns(first), attributes={
                "mlx.decode_tokens": max(len(req.token_ids) - 1, 0)}).end(end_time=ns(end))
        if error is not None:
            span.set_status(Status(StatusCode.ERROR, error))
        span.end(end_time=ns(end))

    def shutdown(self) -> None:
        self.provider.shutdown()


def from_env(env: Optional[Mapping[str, str]] = None) -> Any:
    """OtelTracing exporting over OTLP/HTTP when the variables ask for it; NoTracing otherwise."""
    env = os.environ if env is None else env
    endpoint = traces_endpoint(env)
    if endpoint is None:
        return NoTracing()
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return OtelTracing(OTLPSpanExporter(endpoint=endpoint), env)


def parse_traceparent(params: Mapping[str, Any]) -> Optional[str]:
    """The generate param `traceparent`: a string is kept (a malformed one is ignored when the span is
    made: it starts a new trace); anything else is ignored. Never refuses a request."""
    v = params.get("traceparent")
    return v if isinstance(v, str) and v else None
