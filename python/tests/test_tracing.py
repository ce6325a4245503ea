"""Tracing of generate requests (mlx_runtime/tracing.py): off unless the OTEL_* variables ask for it,
spans made when a request ends under the worker's traceparent, a bad traceparent never refused."""

from types import SimpleNamespace

from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from mlx_runtime import tracing

TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
TRACEPARENT = f"00-{TRACE_ID}-{PARENT_ID}-01"


def fake_request(traceparent, first_token_at=1.02):
    return SimpleNamespace(
        request_id="j1.0", lm=SimpleNamespace(name="tiny"), prompt=[1, 2, 3, 4], token_ids=[5, 6, 7], cached_tokens=1,
        received_at=1.0, admitted_at=1.01, first_token_at=first_token_at, traceparent=traceparent)


def traced(env=None):
    exporter = InMemorySpanExporter()
    return tracing.OtelTracing(exporter, env or {}, batch=False), exporter


def test_off_by_default_and_by_the_standard_variables():
    assert tracing.traces_endpoint({}) is None
    assert isinstance(tracing.from_env({}), tracing.NoTracing)
    assert tracing.traces_endpoint({"OTEL_EXPORTER_OTLP_ENDPOINT": "http://c:4318/"}) == "http://c:4318/v1/traces"
    assert tracing.traces_endpoint({"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://c/x"}) == "http://c/x"
    assert tracing.traces_endpoint({"OTEL_TRACES_EXPORTER": "otlp"}) == "http://localhost:4318/v1/traces"
    assert tracing.traces_endpoint({"OTEL_TRACES_EXPORTER": "none", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) is None
    assert tracing.traces_endpoint({"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://c"}) is None
    assert tracing.traces_endpoint({"OTEL_TRACES_EXPORTER": "console"}) is None


def test_spans_are_children_of_the_workers_traceparent():
    t, exporter = traced()
    t.finished(fake_request(TRACEPARENT), "stop", 1.5)
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert set(spans) == {"runtime.generate", "runtime.queue", "runtime.prefill", "runtime.decode"}
    root = spans["runtime.generate"]
    assert format(root.context.trace_id, "032x") == TRACE_ID
    assert format(root.parent.span_id, "016x") == PARENT_ID
    for name in ("runtime.queue", "runtime.prefill", "runtime.decode"):
        assert spans[name].parent.span_id == root.context.span_id
        assert spans[name].context.trace_id == root.context.trace_id
    assert root.resource.attributes["service.name"] == "mlx-serving-runtime"
    assert root.attributes["gen_ai.usage.output_tokens"] == 3
    assert [e.name for e in spans["runtime.prefill"].events] == ["first_token"]
    # durations from the request's own perf_counter instants: queue 10 ms, decode 480 ms
    assert abs((spans["runtime.queue"].end_time - spans["runtime.queue"].start_time) - 10_000_000) < 1_000
    assert abs((spans["runtime.decode"].end_time - spans["runtime.decode"].start_time) - 480_000_000) < 1_000


def test_a_malformed_traceparent_starts_a_new_trace():
    t, exporter = traced({"OTEL_SERVICE_NAME": "rt-test"})
    t.finished(fake_request("00-zz-nonsense"), "stop", 1.5)
    root = next(s for s in exporter.get_finished_spans() if s.name == "runtime.generate")
    assert root.parent is None
    assert format(root.context.trace_id, "032x") != TRACE_ID
    assert root.resource.attributes["service.name"] == "rt-test"


def test_a_failed_request_without_tokens_has_no_decode_span_and_an_error_status():
    t, exporter = traced()
    t.finished(fake_request(None, first_token_at=None), "error", 1.2, error="boom")
    spans = {s.name: s for s in exporter.get_finished_spans()}
    assert "runtime.decode" not in spans
    assert spans["runtime.generate"].status.status_code.name == "ERROR"


def test_generate_accepts_traceparent_whatever_it_holds(server):
    for tp in (TRACEPARENT, "garbage", 17, None):
        r = server.call("generate", {"prompt": "hello", "max_tokens": 2, "stream": False, "traceparent": tp}, timeout=60)
        assert r["usage"]["completion_tokens"] >= 1, tp


def test_the_sampler_comes_from_the_standard_variables(monkeypatch):
    monkeypatch.setenv("OTEL_TRACES_SAMPLER", "parentbased_traceidratio")
    monkeypatch.setenv("OTEL_TRACES_SAMPLER_ARG", "0.25")
    t, _ = traced()
    assert "TraceIdRatioBased{0.25}" in t.provider.sampler.get_description()
