"""The `generate` request's parameters: checked and defaulted, in the order the engine always checked
them (the first bad one is the error the client gets). null means "default" for every optional field
(OpenAI-style clients send nulls)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, List, Optional

from .engine_config import EngineConfig
from .errors import invalid_param
from .loaded_model import LoadedModel
from .logprobs import TOP_LOGPROBS_MAX
from .structured import FIELD as RESPONSE_FORMAT, parse_response_format
from .tools import call_schema, parse_tools
from .tracing import parse_traceparent


@dataclass
class GenerateParams:
    max_tokens: int
    temperature: float
    top_p: float
    seed: Optional[int]
    stop: List[str]
    session_id: Optional[str]
    request_id: Optional[str]  # None: the engine names it
    stream: bool
    logprobs: bool
    top_logprobs: int
    processors: Optional[List[Any]]  # the structured-output (or enforced tool call) logits processor
    fault_after: Optional[int]
    traceparent: Optional[str] = None  # W3C trace context of the worker node's span (tracing.py); never refused


def parse_generate_params(params: dict, cfg: EngineConfig, lm: LoadedModel) -> GenerateParams:
    """Raises RpcError (invalid params) for the first bad field."""
    max_tokens = _or(params.get("max_tokens"), cfg.default_max_tokens)
    if not _is_int(max_tokens) or max_tokens < 1 or max_tokens > cfg.max_tokens_limit:
        raise invalid_param("max_tokens", f"must be an integer in [1, {cfg.max_tokens_limit}]")
    temperature = _or(params.get("temperature"), 0.0)
    if not _is_num(temperature) or temperature < 0 or not math.isfinite(temperature):
        raise invalid_param("temperature", "must be a number >= 0")
    top_p = _or(params.get("top_p"), 1.0)
    if not _is_num(top_p) or not (0 < top_p <= 1):
        raise invalid_param("top_p", "must be a number in (0, 1]")
    seed = params.get("seed")
    if seed is not None and (not _is_int(seed) or seed < 0 or seed >= 1 << 63):
        raise invalid_param("seed", "must be an integer in [0, 2^63)")
    stop = params.get("stop") or []
    if isinstance(stop, str):
        stop = [stop]
    if not isinstance(stop, list) or not all(isinstance(s, str) and s for s in stop) or len(stop) > 16:
        raise invalid_param("stop", "must be a list of at most 16 non-empty strings")
    session_id = opt_str(params, "session_id")
    request_id = opt_str(params, "request_id")
    stream = _or(params.get("stream"), True)
    if not isinstance(stream, bool):
        raise invalid_param("stream", "must be a boolean")
    logprobs = _or(params.get("logprobs"), False)
    if not isinstance(logprobs, bool):
        raise invalid_param("logprobs", "must be a boolean")
    top_logprobs = _or(params.get("top_logprobs"), 0)
    if not _is_int(top_logprobs) or not (0 <= top_logprobs <= TOP_LOGPROBS_MAX):
        raise invalid_param("top_logprobs", f"must be an integer in [0, {TOP_LOGPROBS_MAX}]")
    if top_logprobs > 0 and not logprobs:
        raise invalid_param("top_logprobs", "needs logprobs: true")
    schema = parse_response_format(params.get("response_format"))
    if params.get("tools") is not None and params.get("prompt") is not None:
        raise invalid_param("tools", "needs messages (chat): tools are rendered by the chat template")
    tool_schema = call_schema(parse_tools(params.get("tools")), params.get("tool_choice"))
    if tool_schema is not None:
        if schema is not None:
            raise invalid_param("tool_choice", "an enforced tool call and a response_format cannot both constrain the output")
        schema = tool_schema
    processors = None
    if schema is not None:
        g = lm.grammar()
        processors = [g.processor(g.compile(schema, "tools" if tool_schema is not None else RESPONSE_FORMAT))]
    fault_after = None
    if params.get("fault") is not None:
        f = params["fault"]
        if not cfg.enable_fault_injection:
            raise invalid_param("fault", "fault injection is disabled (start with --enable-fault-injection)")
        if not isinstance(f, dict) or not _is_int(f.get("error_after_tokens")):
            raise invalid_param("fault", "must be {\"error_after_tokens\": N}")
        fault_after = int(f["error_after_tokens"])

    return GenerateParams(max_tokens=max_tokens, temperature=temperature, top_p=top_p, seed=seed, stop=stop,
                          session_id=session_id, request_id=request_id, stream=stream, logprobs=logprobs,
                          top_logprobs=top_logprobs, processors=processors, fault_after=fault_after,
                          traceparent=parse_traceparent(params))


def _or(v: Any, default: Any) -> Any:
    return default if v is None else v


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def opt_str(params: dict, key: str) -> Optional[str]:
    v = params.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or v == "":
        raise invalid_param(key, "must be a non-empty string")
    return v
