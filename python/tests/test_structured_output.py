"""`generate` with `response_format` (issue 17): constrained decoding inside continuous batching, on the
tiny model (whose free text is nonsense: whatever parses here parses because of the mask)."""

import json

import jsonschema
import pytest

from mlx_runtime import errors
from mlx_runtime.client import RpcFailure

PROMPT = "The captain counted the lanterns in the harbour"

SCHEMA = {
    "type": "object",
    "properties": {
        "name": {"type": "string", "maxLength": 12},
        "count": {"type": "integer", "minimum": 0, "maximum": 999},
        "colour": {"enum": ["red", "green", "blue"]},
        "ok": {"type": "boolean"},
    },
    "required": ["name", "count", "colour", "ok"],
    "additionalProperties": False,
}
JSON_SCHEMA = {"type": "json_schema", "json_schema": {"name": "lantern", "schema": SCHEMA, "strict": True}}
JSON_OBJECT = {"type": "json_object"}


def check_schema(res):
    assert res["finish_reason"] == "stop", res
    doc = json.loads(res["text"])
    jsonschema.validate(doc, SCHEMA)
    return doc


def check_object(res):
    assert res["finish_reason"] == "stop", res
    doc = json.loads(res["text"])
    assert isinstance(doc, dict)
    return doc


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 1.0, "top_p": 0.95, "seed": 7}])
def test_json_schema_output_validates(server, sampling):
    res = server.generate(prompt=PROMPT, max_tokens=200, response_format=JSON_SCHEMA, **sampling)
    check_schema(res)


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 0.8, "seed": 3}])
def test_json_object_output_parses(server, sampling):
    res = server.generate(prompt=PROMPT, max_tokens=400, response_format=JSON_OBJECT, **sampling)
    check_object(res)


def test_text_format_and_null_are_unconstrained(server):
    free = server.generate(prompt=PROMPT, max_tokens=12, temperature=0)
    for rf in (None, {"type": "text"}):
        assert server.generate(prompt=PROMPT, max_tokens=12, temperature=0, response_format=rf)["text"] == free["text"]


def test_mixed_batch_constrained_and_free(server):
    """Several concurrent requests in one running batch: constrained rows get valid JSON, the free rows
    the same text as when run alone (the mask touches their own row only)."""
    alone = server.generate(prompt=PROMPT, max_tokens=24, temperature=0)["text"]
    kinds = ["schema", "free", "object", "schema", "free", "schema", "object", "free"]
    ids = []
    for i, k in enumerate(kinds):
        rf = {"schema": JSON_SCHEMA, "object": JSON_OBJECT, "free": None}[k]
        sampling = {"temperature": 0} if i % 2 == 0 or k == "free" else {"temperature": 0.9, "seed": i}
        params = {"prompt": PROMPT, "max_tokens": 24 if k == "free" else 300, "request_id": f"mix-{i}", **sampling}
        if rf is not None:
            params["response_format"] = rf
        ids.append(server.start_generate(**params))
    for k, rpc_id in zip(kinds, ids):
        msg = server.wait(rpc_id, 120)
        res = msg["result"]
        if k == "schema":
            check_schema(res)
        elif k == "object":
            check_object(res)
        else:
            assert res["text"] == alone


def test_budget_too_small_ends_with_length_and_unfinished_json(server):
    res = server.generate(prompt=PROMPT, max_tokens=3, temperature=0, response_format=JSON_SCHEMA)
    assert res["finish_reason"] == "length"
    assert res["text"].startswith("{")
    with pytest.raises(json.JSONDecodeError):
        json.loads(res["text"])


@pytest.mark.parametrize("rf", [
    "json",
    {"type": "xml"},
    {"type": "json_schema"},
    {"type": "json_schema", "json_schema": {"name": "x"}},
    {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "frobnicate"}}},
    {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}, "strict": "yes"}},
])
def test_invalid_response_format_is_invalid_params(server, rf):
    with pytest.raises(RpcFailure) as e:
        server.generate(prompt=PROMPT, max_tokens=5, response_format=rf)
    assert e.value.code == errors.INVALID_PARAMS
    assert e.value.data["field"] == "response_format"
    assert "response_format" in e.value.error["message"]


def test_planner_loop_constrains_too(spawn, server):
    """The planner samples a sequence's first token in its own prefill pass: the mask applies there too,
    and in the decode batch after. Greedy: the same JSON as the batch-generator loop."""
    rt = spawn("--scheduler", "planner")
    kinds = ["schema", "free", "object", "schema", "free", "schema"]
    ids = []
    for i, k in enumerate(kinds):
        params = {"prompt": PROMPT + " " * (i % 3), "max_tokens": 24 if k == "free" else 300, "temperature": 0,
                  "request_id": f"pl-{i}"}
        if k != "free":
            params["response_format"] = JSON_SCHEMA if k == "schema" else JSON_OBJECT
        ids.append(rt.start_generate(**params))
    for i, (k, rpc_id) in enumerate(zip(kinds, ids)):
        res = rt.wait(rpc_id, 120)["result"]
        if k == "free":
            continue
        (check_schema if k == "schema" else check_object)(res)
        ref = server.generate(prompt=PROMPT + " " * (i % 3), max_tokens=300, temperature=0,
                              response_format=JSON_SCHEMA if k == "schema" else JSON_OBJECT)
        assert res["text"] == ref["text"]


def test_session_prompt_cache_reuse_keeps_the_constraint(server):
    """A request whose prompt prefix comes from the prompt cache (session) starts its grammar the same."""
    first = server.generate(prompt=PROMPT, max_tokens=200, temperature=0, session_id="so-1", response_format=JSON_SCHEMA)
    again = server.generate(prompt=PROMPT, max_tokens=200, temperature=0, session_id="so-1", response_format=JSON_SCHEMA)
    assert again["usage"]["cached_tokens"] > 0
    assert check_schema(again) == check_schema(first)
