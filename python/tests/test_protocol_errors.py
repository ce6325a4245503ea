"""Bad input and faults: every case answers with the right JSON-RPC error and the
process keeps serving."""

import json

import pytest

from mlx_runtime import errors
from mlx_runtime.client import wait_until


def _next_unrouted(rt, timeout=30):
    return rt.unrouted.get(timeout=timeout)


def test_malformed_line_gets_parse_error_and_server_keeps_serving(server):
    server.send_raw("this is not json\n")
    msg = _next_unrouted(server)
    assert msg["id"] is None and msg["error"]["code"] == errors.PARSE_ERROR == -32700
    server.send_raw('{"jsonrpc": "2.0", "id": 1, "method": \n')  # truncated object
    assert _next_unrouted(server)["error"]["code"] == -32700
    server.send_raw("\n   \n")  # blank lines are ignored
    assert server.call("health")["status"] == "ok"


def test_deeply_nested_line_gets_parse_error_and_reader_survives(server):
    # Regression (found by live/worker/runtime-fuzz.test.ts): json.loads raised RecursionError,
    # which killed the reader thread; the runtime then never read stdin again.
    for line in ("[" * 100_000, '{"a":' * 50_000):
        server.send_raw(line + "\n")
        assert _next_unrouted(server)["error"]["code"] == -32700
    assert server.call("health")["status"] == "ok"


@pytest.mark.parametrize("line", [
    "[1, 2, 3]",
    '"just a string"',
    '{"jsonrpc": "1.0", "id": "x1", "method": "health"}',
    '{"jsonrpc": "2.0", "id": "x2", "method": 42}',
    '{"jsonrpc": "2.0", "id": "x3"}',
])
def test_invalid_request(server, line):
    rid = json.loads(line)["id"] if line.startswith("{") else None
    if rid is not None:
        server._responses.setdefault(rid, __import__("queue").Queue())
    server.send_raw(line + "\n")
    msg = server.wait(rid) if rid is not None else _next_unrouted(server)
    assert msg["error"]["code"] == errors.INVALID_REQUEST == -32600
    assert server.call("health")["status"] == "ok"


def test_unknown_method(server):
    msg = server.call_raw("frobnicate", {})
    assert msg["error"]["code"] == errors.METHOD_NOT_FOUND == -32601
    assert msg["error"]["data"]["method"] == "frobnicate"


@pytest.mark.parametrize("params,field", [
    ({"prompt": "hi", "max_tokens": 0}, "max_tokens"),
    ({"prompt": "hi", "max_tokens": "ten"}, "max_tokens"),
    ({"prompt": "hi", "max_tokens": 2.5}, "max_tokens"),
    ({"prompt": "hi", "temperature": -1}, "temperature"),
    ({"prompt": "hi", "temperature": "hot"}, "temperature"),
    ({"prompt": "hi", "top_p": 0}, "top_p"),
    ({"prompt": "hi", "top_p": 1.5}, "top_p"),
    ({"prompt": "hi", "seed": -3}, "seed"),
    ({"prompt": "hi", "seed": "abc"}, "seed"),
    ({"prompt": "hi", "stop": [""]}, "stop"),
    ({"prompt": "hi", "stop": 5}, "stop"),
    ({"prompt": "hi", "session_id": 12}, "session_id"),
    ({"prompt": "hi", "request_id": ""}, "request_id"),
    ({"prompt": "hi", "stream": "yes"}, "stream"),
    ({"prompt": "hi", "model": 3}, "model"),
    ({}, "prompt"),
    ({"prompt": "hi", "messages": [{"role": "user", "content": "x"}]}, "prompt"),
    ({"prompt": ""}, "prompt"),
    ({"prompt": 42}, "prompt"),
    ({"prompt": [1, 2, 999999]}, "prompt"),
    ({"messages": []}, "messages"),
    ({"messages": "hello"}, "messages"),
    ({"messages": [{"role": "user"}]}, "messages[0]"),
])
def test_generate_invalid_params_name_the_field(server, params, field):
    msg = server.call_raw("generate", params)
    err = msg["error"]
    assert err["code"] == errors.INVALID_PARAMS == -32602
    assert err["data"]["field"] == field
    assert field in err["message"]


@pytest.mark.parametrize("method,params,field", [
    ("generate", [1, 2], "params"),
    ("cancel", {}, "request_id"),
    ("load_model", {}, "path"),
    ("load_model", {"path": "/nonexistent/model"}, "path"),
    ("unload_model", {}, "name"),
    ("embed", {"input": 3}, "input"),
    ("embed", {"input": []}, "input"),
    ("tokenize", {"text": 7}, "text"),
    ("tokenize", {}, "text"),
    ("tokenize", {"messages": [{"role": "user"}]}, "messages[0]"),
    ("shutdown", {"mode": "later"}, "mode"),
])
def test_other_invalid_params(server, method, params, field):
    err = server.call_raw(method, params)["error"]
    assert err["code"] == -32602 and err["data"]["field"] == field


def test_unknown_model(server):
    err = server.call_raw("generate", {"prompt": "hi", "model": "nope"})["error"]
    assert err["code"] == errors.MODEL_NOT_FOUND == -32001
    err = server.call_raw("unload_model", {"name": "nope"})["error"]
    assert err["code"] == -32001


def test_duplicate_request_id(server):
    rid = server.start_generate(prompt="The river", max_tokens=2000, request_id="dup")
    assert wait_until(lambda: len(server.stream_of("dup")) >= 1, timeout=60)
    err = server.call_raw("generate", {"prompt": "x", "request_id": "dup"})["error"]
    assert err["code"] == errors.DUPLICATE_REQUEST_ID == -32004
    server.call("cancel", {"request_id": "dup"})
    assert server.wait(rid)["result"]["finish_reason"] == "cancelled"


def test_exception_inside_one_request_fails_only_that_request(server):
    good1 = server.start_generate(prompt="Once upon a time", max_tokens=30, request_id="good-1")
    bad = server.start_generate(prompt="The harbour", max_tokens=30, request_id="bad-1",
                                fault={"error_after_tokens": 5})
    good2 = server.start_generate(prompt="Water boils at", max_tokens=30, request_id="good-2")
    err = server.wait(bad)["error"]
    assert err["code"] == errors.GENERATION_FAILED == -32008
    assert err["data"]["request_id"] == "bad-1" and err["data"]["finish_reason"] == "error"
    assert err["data"]["usage"]["completion_tokens"] == 6
    for rid in (good1, good2):
        r = server.wait(rid)["result"]
        assert r["finish_reason"] == "length" and r["usage"]["completion_tokens"] == 30
    assert server.call("stats")["counters"]["requests_failed"] >= 1
    assert server.call("health")["status"] == "ok"


def test_fault_param_refused_without_flag(spawn):
    rt = spawn()
    err = rt.call_raw("generate", {"prompt": "x", "fault": {"error_after_tokens": 1}})["error"]
    assert err["code"] == -32602 and err["data"]["field"] == "fault"


def test_notification_gets_no_reply(server):
    server.send("health", notify=True)
    server.send("frobnicate", notify=True)
    assert server.call("health")["status"] == "ok"
    assert server.unrouted.empty()


def test_null_optional_fields_mean_default(server):
    res = server.generate(prompt="The bell", max_tokens=None, temperature=None, top_p=None, seed=None,
                          stop=None, session_id=None, request_id=None, stream=None, model=None)
    assert res["usage"]["completion_tokens"] == 256 and res["finish_reason"] == "length"
