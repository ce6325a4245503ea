"""Admission of a generate request whose prompt is encoded: the model's context, then the runtime's
limits, sequences first, then KV bytes (idle prompt-cache entries are evicted first to make room).
The KV a request reserves is prompt + max_tokens, counted in its model's batch padded to its longest
sequence (kv_accounting.py), as the worker node's governor counts it (core/worker/kv-reservation.ts)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Tuple

from .errors import CONTEXT_LENGTH_EXCEEDED, KV_CAPACITY_EXCEEDED, TOO_MANY_SEQUENCES, RpcError
from .kv_accounting import padded_batch_bytes
from .loaded_model import LoadedModel
from .request import Request

if TYPE_CHECKING:
    from .engine import Engine


def bucket_of(lm: Any, prompt_tokens: int) -> int:
    """The batch a sequence decodes in: its context bucket (length_buckets.py), or 0 (one batch)."""
    of = getattr(lm.sched, "bucket_of", None)
    return of(prompt_tokens) if of is not None else 0


def kv_reserved(requests: Iterable[Request], extra: Optional[Tuple[Any, int, int]] = None) -> int:
    """The padded KV cost of the running batches (kv_accounting.py: one per model, or per model and
    context bucket with length_buckets.py), with `extra` = (model, reserved tokens, prompt tokens) of a
    request being admitted counted in."""
    by_batch: Dict[Tuple[str, int], Tuple[int, List[int]]] = {}
    for r in requests:
        key = (r.lm.name, bucket_of(r.lm, len(r.prompt)))
        by_batch.setdefault(key, (r.lm.kv_bytes_per_token, []))[1].append(r.reserved_tokens)
    if extra is not None:
        lm, tokens, prompt_tokens = extra
        by_batch.setdefault((lm.name, bucket_of(lm, prompt_tokens)), (lm.kv_bytes_per_token, []))[1].append(tokens)
    return sum(padded_batch_bytes(toks, bpt) for bpt, toks in by_batch.values())


def admit(engine: Engine, lm: LoadedModel, prompt: List[int], max_tokens: int, request_id: str) -> Tuple[int, int]:
    """Raises RpcError to refuse; returns the KV bytes the request adds to the reservation and its
    reserved tokens (prompt + max_tokens)."""
    if len(prompt) + max_tokens > lm.max_context:
        raise RpcError(CONTEXT_LENGTH_EXCEEDED,
                       f"prompt ({len(prompt)} tokens) + max_tokens ({max_tokens}) exceeds the "
                       f"model context of {lm.max_context} tokens",
                       {"request_id": request_id, "prompt_tokens": len(prompt),
                        "max_tokens": max_tokens, "max_context": lm.max_context})

    # ---- limits: sequences, then KV bytes (evicting idle prompt-cache entries first)
    if engine.active_sequences() >= engine.cfg.max_sequences:
        engine.counters["requests_rejected"] += 1
        raise RpcError(TOO_MANY_SEQUENCES,
                       f"{engine.active_sequences()} sequences in flight (max_sequences={engine.cfg.max_sequences})",
                       {"request_id": request_id, "active_sequences": engine.active_sequences(),
                        "max_sequences": engine.cfg.max_sequences})
    # The padded cost of the batch with this request in it, minus without (kv_accounting.py).
    reserve_tokens = len(prompt) + max_tokens
    reserved_now = kv_reserved(engine.requests.values())
    need = kv_reserved(engine.requests.values(), (lm, reserve_tokens, len(prompt))) - reserved_now
    while reserved_now + engine.prompt_cache.nbytes + need > engine.max_kv_bytes and len(engine.prompt_cache):
        engine.prompt_cache.evict_one()
    available = engine.max_kv_bytes - reserved_now - engine.prompt_cache.nbytes
    if need > available:
        engine.counters["requests_rejected"] += 1
        raise RpcError(KV_CAPACITY_EXCEEDED,
                       f"request needs {need} KV bytes (prompt {len(prompt)} + max_tokens {max_tokens} at "
                       f"{lm.kv_bytes_per_token} B/token in a batch padded to its longest sequence, x2 while "
                       f"it is merged) but only {max(available, 0)} of max_kv_bytes="
                       f"{engine.max_kv_bytes} are free",
                       {"request_id": request_id, "needed_bytes": need, "available_bytes": max(available, 0),
                        "max_kv_bytes": engine.max_kv_bytes})
    return need, reserve_tokens
