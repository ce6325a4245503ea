"""Drives the gateway's Anthropic Messages API with the official `anthropic` Python client
(python/requirements-dev.txt); prints one JSON object of what came back, for
live/worker/python-clients-e2e.test.ts to check.

    python anthropic_client.py BASE_URL API_KEY
"""

import json
import sys

import anthropic


def step(name):
    print(f"[anthropic_client] {name}", file=sys.stderr, flush=True)


base_url, api_key = sys.argv[1], sys.argv[2]
client = anthropic.Anthropic(base_url=base_url, api_key=api_key, max_retries=0)
NO_CACHE = {"cache-control": "no-cache"}
# anthropic 2.x has no temperature argument (the API still takes the field): sent as an extra field
GREEDY = {"temperature": 0}
messages = [{"role": "user", "content": "What is the weather in Oslo?"}]
out = {}

step("message")
r = client.messages.create(model="tiny", max_tokens=12, system="You are terse.", messages=messages,
                           extra_body=GREEDY, extra_headers=NO_CACHE)
out["message"] = {"text": "".join(b.text for b in r.content if b.type == "text"), "stop_reason": r.stop_reason,
                  "usage": {"input_tokens": r.usage.input_tokens, "output_tokens": r.usage.output_tokens}}

step("stream")
with client.messages.stream(model="tiny", max_tokens=12, system="You are terse.", messages=messages,
                            extra_body=GREEDY, extra_headers=NO_CACHE) as stream:
    text = "".join(stream.text_stream)
    final = stream.get_final_message()
out["stream"] = {"text": text, "stop_reason": final.stop_reason, "output_tokens": final.usage.output_tokens}

step("tool_use")
tools = [{"name": "get_weather", "description": "The weather in a city",
          "input_schema": {"type": "object", "properties": {"city": {"type": "string", "maxLength": 16}}, "required": ["city"],
                           "additionalProperties": False}}]
r = client.messages.create(model="tiny", max_tokens=80, messages=messages, tools=tools, extra_body=GREEDY,
                           tool_choice={"type": "tool", "name": "get_weather"}, extra_headers=NO_CACHE)
out["tool_use"] = {"stop_reason": r.stop_reason,
                   "blocks": [{"type": b.type, "name": b.name, "input": b.input} for b in r.content if b.type == "tool_use"]}

step("refusal")
try:
    client.messages.create(model="tiny", max_tokens=2048, messages=messages, thinking={"type": "enabled", "budget_tokens": 1024})
    out["refusal"] = None
except anthropic.BadRequestError as e:
    out["refusal"] = {"status": e.status_code, "type": e.body["error"]["type"], "message": e.body["error"]["message"]}

print(json.dumps(out))
