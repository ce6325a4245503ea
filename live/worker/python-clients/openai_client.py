"""Drives the gateway with the official `openai` Python client (python/requirements-dev.txt); prints one
JSON object of what came back, for live/worker/python-clients-e2e.test.ts to check.

    python openai_client.py BASE_URL API_KEY
"""

import json
import sys

import openai

base_url, api_key = sys.argv[1], sys.argv[2]
client = openai.OpenAI(base_url=f"{base_url}/v1", api_key=api_key, max_retries=0)
NO_CACHE = {"cache-control": "no-cache"}
messages = [{"role": "user", "content": "Tell me about lanterns."}]
out = {}

def step(name):
    print(f"[openai_client] {name}", file=sys.stderr, flush=True)


step("models")
out["models"] = [m.id for m in client.models.list()]
step("chat")
r = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, temperature=0, extra_headers=NO_CACHE)
out["chat"] = {"content": r.choices[0].message.content, "finish_reason": r.choices[0].finish_reason,
               "usage": r.usage.model_dump(exclude_none=True)}

step("chat_stream")
stream = client.chat.completions.create(model="tiny", messages=messages, max_tokens=8, temperature=0, stream=True,
                                        stream_options={"include_usage": True}, extra_headers=NO_CACHE)
parts, usage = [], None
for chunk in stream:
    if chunk.choices and chunk.choices[0].delta.content:
        parts.append(chunk.choices[0].delta.content)
    if chunk.usage is not None:
        usage = chunk.usage.model_dump(exclude_none=True)
out["chat_stream"] = {"content": "".join(parts), "usage": usage}

step("completion")
r = client.completions.create(model="tiny", prompt="Once upon a time", max_tokens=6, temperature=0, logprobs=2, extra_headers=NO_CACHE)
out["completion"] = {"text": r.choices[0].text, "tokens": len(r.choices[0].logprobs.tokens),
                     "top": [len(t) for t in r.choices[0].logprobs.top_logprobs]}

step("json_schema")
schema = {"type": "object", "properties": {"name": {"type": "string", "maxLength": 12}, "age": {"type": "integer"}},
          "required": ["name", "age"], "additionalProperties": False}
r = client.chat.completions.create(model="tiny", messages=messages, max_tokens=120, temperature=0, extra_headers=NO_CACHE,
                                   response_format={"type": "json_schema", "json_schema": {"name": "person", "schema": schema, "strict": True}})
out["json_schema"] = {"content": r.choices[0].message.content, "schema": schema}

step("tools")
tools = [{"type": "function", "function": {"name": "get_weather", "description": "The weather in a city",
          "parameters": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 16}}, "required": ["city"],
                         "additionalProperties": False}}}]
r = client.chat.completions.create(model="tiny", messages=[{"role": "user", "content": "Weather in Oslo?"}], max_tokens=80,
                                   temperature=0, tools=tools, tool_choice="required", extra_headers=NO_CACHE)
calls = r.choices[0].message.tool_calls or []
out["tools"] = {"finish_reason": r.choices[0].finish_reason,
                "calls": [{"name": c.function.name, "arguments": json.loads(c.function.arguments)} for c in calls]}

step("refusal")
try:
    client.chat.completions.create(model="tiny", messages=messages, max_tokens=4, n=2)
    out["refusal"] = None
except openai.BadRequestError as e:
    out["refusal"] = {"status": e.status_code, "param": e.param, "code": e.code}

try:
    client.chat.completions.create(model="no-such-model", messages=messages, max_tokens=4)
    out["unknown_model"] = None
except openai.NotFoundError as e:
    out["unknown_model"] = {"status": e.status_code, "code": e.code}

print(json.dumps(out))
