"""One generate request in the engine's table: what it asked, what it reserved, what it produced so
far; and the usage and timings its result reports."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, List, Optional

from .loaded_model import LoadedModel
from .log import ms as _ms


@dataclass
class Request:
    rpc_id: Any
    request_id: str
    lm: LoadedModel
    prompt: List[int]
    cached_tokens: int
    max_tokens: int
    stop: List[str]
    session_id: Optional[str]
    stream: bool
    received_at: float
    admitted_at: float
    reserved_kv_bytes: int
    reserved_tokens: int = 0  # prompt + max_tokens: the longest this sequence can get
    fault_after: Optional[int] = None
    logprobs: bool = False  # send each token's log-probability ...
    top_logprobs: int = 0  # ... and its N most likely alternatives
    logprob_list: List[dict] = field(default_factory=list)  # per emitted token, for the result
    uid: int = -1
    detok: Any = None
    text: str = ""
    emitted: int = 0
    token_ids: List[int] = field(default_factory=list)
    first_token_at: Optional[float] = None
    stop_sequence: Optional[str] = None  # the stop string that ended the output, if one did
    finished: bool = False
    traceparent: Optional[str] = None  # the worker node's span (tracing.py)


def usage(req: Request) -> dict:
    return {
        "prompt_tokens": len(req.prompt),
        "completion_tokens": len(req.token_ids),
        "total_tokens": len(req.prompt) + len(req.token_ids),
        "cached_tokens": req.cached_tokens,
        "prefill_tokens": len(req.prompt) - req.cached_tokens,
    }


def timings(req: Request, end: float) -> dict:
    first = req.first_token_at
    queue = req.admitted_at - req.received_at
    prefill = (first if first is not None else end) - req.admitted_at
    decode = (end - first) if first is not None else 0.0
    n_decode = max(len(req.token_ids) - 1, 0)
    return {
        "queue_ms": _ms(queue),
        "prefill_ms": _ms(prefill),
        "decode_ms": _ms(decode),
        "ttft_ms": _ms((first - req.received_at) if first is not None else end - req.received_at),
        "total_ms": _ms(end - req.received_at),
        "decode_tokens_per_s": round(n_decode / decode, 3) if decode > 0 and n_decode > 0 else None,
    }
