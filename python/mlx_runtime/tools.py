"""Tool calls (`generate`'s `tools` and `tool_choice`): rendering and enforced calls.

`tools` is OpenAI's list of function tools ({"type": "function", "function": {"name", "description"?,
"parameters"?}}); it is passed to the model's chat template (apply_chat_template(..., tools=...)), which
lists them. Messages may carry OpenAI's assistant `tool_calls` (their `arguments` JSON text is parsed
into an object for the template) and `tool` results (role "tool", content = the result).

The call format: a tool call is the assistant's whole output, one compact JSON object
    {"name": "<tool name>", "arguments": {<the tool's parameters>}}
(one call per turn: parallel calls are not produced). The gateway parses it into OpenAI's tool_calls.

`tool_choice`:
  - "none": tools are rendered, the output is free (the gateway never reports a call);
  - "auto" (the default with tools): free output; the gateway reports a call when the whole output
    parses as a call of a known tool;
  - "required" / {"type": "function", "function": {"name": N}}: ENFORCED by constrained decoding (the
    structured-output machinery, structured.py) with the JSON schema
        {"anyOf": [{"type": "object", "properties": {"name": {"const": N}, "arguments": <N's parameters>},
                    "required": ["name", "arguments"], "additionalProperties": false}, ...]}
    over every tool (required) or the named one: the output always parses into a call whose arguments
    validate against the tool's parameters schema (unless max_tokens cuts it: finish_reason "length").
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Tuple

from .errors import invalid_param


def parse_tools(value: Any) -> Optional[List[dict]]:
    """The tools list (None when absent or empty); invalid params naming `tools` otherwise."""
    if value is None:
        return None
    if not isinstance(value, list):
        raise invalid_param("tools", "must be a list of {type: function, function: {name, parameters}}")
    if not value:
        return None
    out = []
    for i, t in enumerate(value):
        f = t.get("function") if isinstance(t, dict) and t.get("type", "function") == "function" else None
        if not isinstance(f, dict) or not isinstance(f.get("name"), str) or not f["name"]:
            raise invalid_param(f"tools[{i}]", "must be {type: function, function: {name, parameters?}}")
        params = f.get("parameters")
        if params is not None and not isinstance(params, dict):
            raise invalid_param(f"tools[{i}].function.parameters", "must be a JSON schema object")
        out.append({"type": "function", "function": f})
    return out


def call_schema(tools: Optional[List[dict]], tool_choice: Any) -> Optional[dict]:
    """The JSON schema that enforces the call tool_choice asks for, or None (free output)."""
    if tool_choice is None or tool_choice in ("none", "auto"):
        return None
    if tools is None:
        raise invalid_param("tool_choice", "needs tools")
    if tool_choice == "required":
        chosen = tools
    elif isinstance(tool_choice, dict) and isinstance(tool_choice.get("function"), dict) \
            and isinstance(tool_choice["function"].get("name"), str):
        name = tool_choice["function"]["name"]
        chosen = [t for t in tools if t["function"]["name"] == name]
        if not chosen:
            raise invalid_param("tool_choice", f"names the function {json.dumps(name)}, which is not among the tools")
    else:
        raise invalid_param("tool_choice", 'must be "none", "auto", "required" or {type: function, function: {name}}')
    alts = []
    for t in chosen:
        f = t["function"]
        params = f.get("parameters") or {"type": "object", "properties": {}}
        alts.append({"type": "object",
                     "properties": {"name": {"const": f["name"]}, "arguments": params},
                     "required": ["name", "arguments"], "additionalProperties": False})
    return alts[0] if len(alts) == 1 else {"anyOf": alts}


def template_messages(messages: list) -> List[dict]:
    """Chat messages for the template: role + content, an assistant's tool_calls (arguments as an
    object), a tool result's tool_call_id. Invalid params naming the message otherwise."""
    out = []
    for i, m in enumerate(messages):
        if not isinstance(m, dict) or not isinstance(m.get("role"), str):
            raise invalid_param(f"messages[{i}]", "must be an object with string 'role' and 'content'")
        calls = m.get("tool_calls")
        content = m.get("content")
        if calls:
            if content is not None and not isinstance(content, str):
                raise invalid_param(f"messages[{i}].content", "must be a string or null")
            out.append({"role": m["role"], "content": content or "", "tool_calls": [_call(i, j, c) for j, c in enumerate(calls)]})
            continue
        if not isinstance(content, str):
            raise invalid_param(f"messages[{i}]", "must be an object with string 'role' and 'content'")
        msg = {"role": m["role"], "content": content}
        if isinstance(m.get("tool_call_id"), str):
            msg["tool_call_id"] = m["tool_call_id"]
        out.append(msg)
    return out


def _call(i: int, j: int, c: Any) -> dict:
    f = c.get("function") if isinstance(c, dict) else None
    if not isinstance(f, dict) or not isinstance(f.get("name"), str):
        raise invalid_param(f"messages[{i}].tool_calls[{j}]", "must be {id, type: function, function: {name, arguments}}")
    args: Any = f.get("arguments", "{}")
    if isinstance(args, str):
        try:
            args = json.loads(args) if args.strip() else {}
        except ValueError:
            pass  # rendered as the text it is
    return {"id": c.get("id"), "type": "function", "function": {"name": f["name"], "arguments": args}}


def parse_call(text: str, tools: List[dict]) -> Optional[Tuple[str, dict]]:
    """(name, arguments) when `text` is one call of a known tool in the call format, else None."""
    try:
        v = json.loads(text)
    except ValueError:
        return None
    if not isinstance(v, dict) or set(v) != {"name", "arguments"} or not isinstance(v["arguments"], dict):
        return None
    names = {t["function"]["name"] for t in tools}
    return (v["name"], v["arguments"]) if v["name"] in names else None
