"""`generate` with `tools` / `tool_choice` (issue 17): the chat template renders the tools, and
"required" / a named function are enforced by constrained decoding, so even the tiny model (random
weights) always answers with a call whose arguments validate against the tool's parameters schema."""

import json

import jsonschema
import pytest

from mlx_runtime import errors
from mlx_runtime.client import RpcFailure
from mlx_runtime.tools import parse_call

WEATHER = {"type": "function", "function": {
    "name": "get_weather", "description": "The weather in a city",
    "parameters": {"type": "object",
                   "properties": {"city": {"type": "string", "maxLength": 16},
                                  "unit": {"enum": ["celsius", "fahrenheit"]}},
                   "required": ["city", "unit"], "additionalProperties": False}}}
ADD = {"type": "function", "function": {
    "name": "add", "description": "Add two integers",
    "parameters": {"type": "object",
                   "properties": {"a": {"type": "integer", "minimum": -100, "maximum": 100},
                                  "b": {"type": "integer", "minimum": -100, "maximum": 100}},
                   "required": ["a", "b"], "additionalProperties": False}}}
TOOLS = [WEATHER, ADD]
PARAMS = {t["function"]["name"]: t["function"]["parameters"] for t in TOOLS}
MESSAGES = [{"role": "user", "content": "What is the weather in Oslo?"}]


def check_call(res, only=None):
    assert res["finish_reason"] == "stop", res
    call = parse_call(res["text"], TOOLS)
    assert call is not None, res["text"]
    name, args = call
    if only is not None:
        assert name == only
    jsonschema.validate(args, PARAMS[name])
    return name, args


def test_template_renders_tools_calls_and_results(server):
    plain = server.call("tokenize", {"messages": MESSAGES})
    with_tools = server.call("tokenize", {"messages": MESSAGES, "tools": TOOLS})
    assert with_tools["count"] > plain["count"]
    text = "".join(with_tools["tokens"])
    assert "get_weather" in text.replace("Ġ", " ")
    turn = MESSAGES + [
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "get_weather", "arguments": '{"city":"Oslo","unit":"celsius"}'}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "12 degrees"},
    ]
    res = server.generate(messages=turn, tools=TOOLS, max_tokens=8, temperature=0)
    assert res["finish_reason"] == "length"


@pytest.mark.parametrize("sampling", [{"temperature": 0}, {"temperature": 1.0, "top_p": 0.95, "seed": 5}])
def test_required_yields_a_valid_call(server, sampling):
    res = server.generate(messages=MESSAGES, tools=TOOLS, tool_choice="required", max_tokens=200, **sampling)
    check_call(res)


@pytest.mark.parametrize("name", ["get_weather", "add"])
def test_named_function_yields_that_call(server, name):
    choice = {"type": "function", "function": {"name": name}}
    res = server.generate(messages=MESSAGES, tools=TOOLS, tool_choice=choice, max_tokens=200, temperature=0.9, seed=11)
    check_call(res, only=name)


def test_none_and_auto_are_free(server):
    for choice in ("none", "auto", None):
        res = server.generate(messages=MESSAGES, tools=TOOLS, tool_choice=choice, max_tokens=12, temperature=0)
        assert res["finish_reason"] == "length"


def test_calls_batched_with_other_requests(server):
    kinds = ["required", "free", "named", "required", "free", "named", "required", "free"]
    ids = []
    for i, k in enumerate(kinds):
        params = {"messages": MESSAGES, "request_id": f"tools-mix-{i}", "temperature": 0.9, "seed": i,
                  "max_tokens": 16 if k == "free" else 200}
        if k != "free":
            params["tools"] = TOOLS
            params["tool_choice"] = "required" if k == "required" else {"type": "function", "function": {"name": "add"}}
        ids.append(server.start_generate(**params))
    for k, rpc_id in zip(kinds, ids):
        res = server.wait(rpc_id, 120)["result"]
        if k == "required":
            check_call(res)
        elif k == "named":
            check_call(res, only="add")
        else:
            assert res["finish_reason"] == "length"


def test_planner_loop_enforces_too(spawn):
    rt = spawn("--scheduler", "planner")
    for i in range(3):
        res = rt.generate(messages=MESSAGES, tools=TOOLS, tool_choice="required", max_tokens=200, temperature=0.9, seed=i)
        check_call(res)


@pytest.mark.parametrize("params,field", [
    ({"tools": TOOLS, "tool_choice": {"type": "function", "function": {"name": "nope"}}}, "tool_choice"),
    ({"tool_choice": "required"}, "tool_choice"),
    ({"tools": [{"type": "function", "function": {}}]}, "tools[0]"),
    ({"tools": TOOLS, "tool_choice": "required", "response_format": {"type": "json_object"}}, "tool_choice"),
])
def test_invalid_tools_are_invalid_params(server, params, field):
    with pytest.raises(RpcFailure) as e:
        server.generate(messages=MESSAGES, max_tokens=8, **params)
    assert e.value.code == errors.INVALID_PARAMS
    assert e.value.data["field"] == field
