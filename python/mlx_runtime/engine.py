"""The inference engine: the request table of the loaded models, one step of every model's loop, and
the JSON-RPC results of each request.

All methods run on one thread (the engine thread). Every loaded model has one step
loop (planned_loop.py): the runtime's own planned loop (scheduler "planner": decode
first, prefill chunks in the token budget the step planner leaves) or mlx-lm's
`BatchGenerator` (scheduler "batch-generator"); `step()` advances each of them by one
step, so requests join the running batch between steps and finished ones leave it.
Beside it (issue 13): engine_config.py (EngineConfig), loaded_model.py (LoadedModel),
request.py (Request, its usage and timings), request_params.py (checking generate's params),
prompt_input.py (prompt and chat encoding, tokenize, embed), admission.py (context, sequences and
KV limits), stop_strings.py, engine_status.py (stats, health).
"""

from __future__ import annotations

import time
import traceback
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import mlx.core as mx

from . import blas, cache_limit, clear_cache, cuda_attention
from .admission import admit, kv_reserved
from .engine_config import EngineConfig
from .engine_status import health, stats
from .errors import (
    DUPLICATE_REQUEST_ID,
    GENERATION_FAILED,
    INTERNAL_ERROR,
    MODEL_LOAD_FAILED,
    MODEL_NOT_FOUND,
    SHUTTING_DOWN,
    RpcError,
    invalid_param,
)
from .kv_budget import KvBudget
from .loaded_model import LoadedModel
from .log import log
from .logprobs import token_logprobs
from .prompt_cache import SessionPromptCache
from .prompt_input import embed, encode_input, tokenize
from .request import Request, timings, usage
from .request_params import opt_str, parse_generate_params
from .sampling import make_request_sampler
from .stop_strings import cut_at_stop, emit_limit
from .tracing import NoTracing

Send = Callable[[dict], None]


class Engine:
    def __init__(self, cfg: EngineConfig, send: Send, send_many: Optional[Callable[[List[dict]], None]] = None, tracing: Any = None):
        cfg.validate()
        self.tracing = tracing or NoTracing()  # tracing.py: spans made when a request ends, none when off
        self.cfg = cfg
        self.send = send
        self._send_direct = send
        # one write of several protocol lines (server.Output.send_many); per-step notifications use it
        self._send_many = send_many or (lambda objs: [send(o) for o in objs])
        self.kv_budget: KvBudget = cfg.kv_budget(0)
        # MLX's buffer cache bounded on a GPU (cache_limit.py: unbounded, mlx-lm's growing KV fills it)
        self.cache_limit = cache_limit.apply()
        self.cache_limit.update(clear_cache.apply())  # mlx-lm's clear_cache per prefill chunk (clear_cache.py)
        self.cache_limit.update(cuda_attention.apply())  # cuDNN attention off on CUDA (cuda_attention.py)
        self.max_kv_bytes = self.kv_budget.bytes
        self.models: Dict[str, LoadedModel] = {}
        self.default_model: Optional[str] = None
        self.requests: Dict[str, Request] = {}  # request_id -> request
        self.prompt_cache = SessionPromptCache(cfg.prompt_cache_entries)
        self.started_at = time.perf_counter()
        self.shutting_down = False
        self._auto_id = 0
        self.counters = {
            "requests_total": 0,
            "requests_completed": 0,
            "requests_cancelled": 0,
            "requests_failed": 0,
            "requests_rejected": 0,
            "prompt_tokens_total": 0,
            "prefill_tokens_total": 0,
            "completion_tokens_total": 0,
            "decode_steps": 0,
        }

    # ------------------------------------------------------------------ models
    def load_model(self, path: str, name: Optional[str] = None) -> dict:
        p = Path(path)
        if not (p / "config.json").exists():
            raise invalid_param("path", f"no model directory at {path!r} (config.json missing)")
        name = name or p.resolve().name
        existing = self.models.get(name)
        if existing is not None:
            if Path(existing.path).resolve() == p.resolve():
                return {**existing.describe(), "already_loaded": True}
            raise invalid_param("name", f"a different model is already loaded as {name!r}")
        try:
            lm = LoadedModel(name, str(p), self.cfg)
        except RpcError:
            raise
        except Exception as e:
            log("load_model failed:", traceback.format_exc())
            raise RpcError(MODEL_LOAD_FAILED, f"failed to load model from {path!r}: {e}", {"path": path})
        self.models[name] = lm
        if self.default_model is None:
            self.default_model = name
        log(f"loaded model {name!r} from {path} in {lm.load_ms:.0f} ms "
            f"({lm.model_bytes / 1e6:.1f} MB, blas={blas.status()})")
        self._resize_kv_budget()
        return {**lm.describe(), "already_loaded": False}

    def unload_model(self, name: str) -> dict:
        lm = self.models.get(name)
        if lm is None:
            raise RpcError(MODEL_NOT_FOUND, f"model {name!r} is not loaded", {"model": name})
        cancelled = 0
        for req in list(lm.active.values()):
            self._finish(req, "cancelled", remove_from_batch=True, keep_cache=False)
            cancelled += 1
        lm.close()
        del self.models[name]
        self.prompt_cache.drop_model(name)
        if self.default_model == name:
            self.default_model = next(iter(self.models), None)
        mx.clear_cache()
        self._resize_kv_budget()
        return {"name": name, "unloaded": True, "cancelled": cancelled}

    def list_models(self) -> dict:
        return {"models": [lm.describe() for lm in self.models.values()], "default": self.default_model}

    def resolve_model(self, name: Optional[str]) -> LoadedModel:
        if name is None:
            if self.default_model is None:
                raise RpcError(MODEL_NOT_FOUND, "no model loaded (call load_model first)", {"model": None})
            return self.models[self.default_model]
        lm = self.models.get(name)
        if lm is None:
            raise RpcError(MODEL_NOT_FOUND, f"model {name!r} is not loaded", {"model": name})
        return lm

    # --------------------------------------------------------------- tokenizer
    def tokenize(self, params: dict) -> dict:
        return tokenize(self.resolve_model(opt_str(params, "model")), params)

    def embed(self, params: dict) -> dict:
        return embed(self.resolve_model(opt_str(params, "model")), params)

    def _resize_kv_budget(self) -> None:
        """The default budget depends on the weights loaded: sized again after a load or unload."""
        try:
            budget = self.cfg.kv_budget(sum(lm.model_bytes for lm in self.models.values()))
        except Exception:  # pragma: no cover - keep the budget we have
            log("sizing the KV budget failed:", traceback.format_exc())
            return
        self.kv_budget = budget
        self.max_kv_bytes = budget.bytes
        log(f"KV budget {budget.bytes / 2**30:.2f} GiB ({budget.source}"
            + (f", memory {budget.memory_bytes / 2**30:.2f} GiB" if budget.memory_bytes else "")
            + (" capped by mlx's memory limit" if budget.capped_by_memory_limit else "")
            + (f", weights {budget.model_bytes / 2**30:.2f} GiB, x{budget.fraction}" if budget.fraction else "") + ")")

    # -------------------------------------------------------------- generation
    def _kv_reserved(self, extra: Optional[Tuple[Any, int, int]] = None) -> int:
        return kv_reserved(self.requests.values(), extra)

    def active_sequences(self) -> int:
        return len(self.requests)

    def has_work(self) -> bool:
        return bool(self.requests)

    def generate(self, rpc_id: Any, params: dict, received_at: float) -> None:
        """Validate and admit a generate request (raises RpcError to reject)."""
        if self.shutting_down:
            raise RpcError(SHUTTING_DOWN, "runtime is shutting down; not accepting new requests")
        lm = self.resolve_model(opt_str(params, "model"))
        p = parse_generate_params(params, self.cfg, lm)
        max_tokens, session_id, request_id = p.max_tokens, p.session_id, p.request_id
        if request_id is None:
            self._auto_id += 1
            request_id = f"auto-{self._auto_id}"
        if request_id in self.requests:
            raise RpcError(DUPLICATE_REQUEST_ID, f"request_id {request_id!r} is already in flight",
                           {"request_id": request_id})

        prompt = encode_input(lm, params, for_generation=True)
        need, reserve_tokens = admit(self, lm, prompt, max_tokens, request_id)

        cache, n_cached = None, 0
        if session_id is not None:
            cache, n_cached = self.prompt_cache.take((lm.name, session_id), prompt)

        sampler = make_request_sampler(float(p.temperature), float(p.top_p), p.seed)
        now = time.perf_counter()
        req = Request(
            rpc_id=rpc_id, request_id=request_id, lm=lm, prompt=prompt, cached_tokens=n_cached,
            max_tokens=int(max_tokens), stop=p.stop, session_id=session_id, stream=p.stream,
            received_at=received_at, admitted_at=now, reserved_kv_bytes=need, reserved_tokens=reserve_tokens, fault_after=p.fault_after,
            logprobs=p.logprobs, top_logprobs=int(p.top_logprobs), traceparent=p.traceparent,
        )
        req.detok = lm.tokenizer.detokenizer
        uid = lm.sched.insert(prompt, n_cached, cache, sampler, req.max_tokens, logits_processors=p.processors)
        req.uid = uid
        lm.active[uid] = req
        self.requests[request_id] = req
        self.counters["requests_total"] += 1
        self.counters["prompt_tokens_total"] += len(prompt)
        self.counters["prefill_tokens_total"] += len(prompt) - n_cached

    def cancel(self, request_id: str) -> dict:
        req = self.requests.get(request_id)
        if req is None:
            return {"request_id": request_id, "cancelled": False}
        self._finish(req, "cancelled", remove_from_batch=True, keep_cache=True)
        return {"request_id": request_id, "cancelled": True}

    def cancel_all(self) -> int:
        n = 0
        for req in list(self.requests.values()):
            self._finish(req, "cancelled", remove_from_batch=True, keep_cache=False)
            n += 1
        return n

    def step(self) -> None:
        """One step for every model with work (decode + prefill chunks)."""
        for lm in list(self.models.values()):
            if not lm.active:
                continue
            try:
                lm.sched.step(lambda rs, lm=lm: self._on_responses(lm, rs))
            except Exception as e:  # the whole batch is broken: fail its requests
                log("batch step failed:", traceback.format_exc())
                for req in list(lm.active.values()):
                    self._fail(req, f"batch step failed: {e}", remove_from_batch=False)
                lm.sched.reset()

    def _on_responses(self, lm: LoadedModel, gen_responses: List[Any]) -> None:
        """The tokens of one step (all sequences of one model): called by the step loop while the
        next step computes. Messages are collected and written in one write at the end."""
        if not gen_responses:
            return
        self.counters["decode_steps"] += 1
        now = time.perf_counter()
        outbox: List[dict] = []
        self.send = outbox.append
        try:
            lps = self._logprobs_of_step(lm, gen_responses)
            for r in gen_responses:
                req = lm.active.get(r.uid)
                if req is None or req.finished:
                    continue
                try:
                    self._on_token(req, r, now, lps.get(r.uid))
                except Exception as e:
                    log(f"request {req.request_id} failed:", traceback.format_exc())
                    self._fail(req, str(e), remove_from_batch=r.finish_reason is None)
        finally:
            self.send = self._send_direct
            if outbox:
                self._send_many(outbox)

    def _logprobs_of_step(self, lm: LoadedModel, gen_responses: List[Any]) -> Dict[int, dict]:
        """uid -> the emitted token's logprob entry, for the requests of this step that asked (all in
        one batched computation, logprobs.py). An EOS (finish "stop") emits no token: no entry."""
        want = []
        for r in gen_responses:
            req = lm.active.get(r.uid)
            if req is not None and not req.finished and req.logprobs and r.finish_reason != "stop":
                want.append((req, r))
        if not want:
            return {}
        got = token_logprobs([r.logprobs for _, r in want], [int(r.token) for _, r in want],
                             [req.top_logprobs for req, _ in want], [lm.pieces] * len(want))
        return {r.uid: g for (_, r), g in zip(want, got)}

    # ------------------------------------------------------------- internals
    def _on_token(self, req: Request, r: Any, now: float, logprob: Optional[dict] = None) -> None:
        if req.first_token_at is None:
            req.first_token_at = now
        new_ids: List[int] = []
        finish = r.finish_reason  # "stop" (eos) | "length" | None
        if finish == "stop":
            req.detok.finalize()  # eos itself is not part of the output
        else:
            req.detok.add_token(r.token)
            new_ids.append(int(r.token))
            req.token_ids.append(int(r.token))
            if logprob is not None:
                req.logprob_list.append(logprob)
            if finish == "length":
                req.detok.finalize()
        if req.fault_after is not None and len(req.token_ids) > req.fault_after:
            raise RuntimeError(f"injected fault after {req.fault_after} tokens")
        req.text += req.detok.last_segment

        req.text, stop_hit = cut_at_stop(req.text, req.emitted, req.stop)
        if stop_hit is not None:
            req.stop_sequence = stop_hit
            finish = "stop"
        limit = emit_limit(req.text, req.stop, finish)  # holds back a tail that may start a stop string
        delta = req.text[req.emitted:limit]
        req.emitted = max(req.emitted, limit)
        if req.stream and (delta or new_ids):
            params = {
                "id": req.rpc_id,
                "request_id": req.request_id,
                "text": delta,
                "token_ids": new_ids,
                "completion_tokens": len(req.token_ids),
                "prompt_tokens": len(req.prompt),
            }
            if req.logprobs:
                params["logprobs"] = [logprob] if new_ids and logprob is not None else []
            self.send({"jsonrpc": "2.0", "method": "tokens", "params": params})
        if finish is not None:
            cache_tokens = None
            if r.finish_reason is not None:  # BatchGenerator already removed it
                cache_tokens = (r.prompt_cache, r.all_tokens)
            self._finish(req, finish, remove_from_batch=r.finish_reason is None,
                         keep_cache=True, cache_tokens=cache_tokens)

    def _release(self, req: Request, *, remove_from_batch: bool, keep_cache: bool, cache_tokens=None) -> None:
        req.finished = True
        lm = req.lm
        want_cache = keep_cache and req.session_id is not None
        if remove_from_batch:
            got = lm.sched.remove(req.uid, want_cache)
            if want_cache and got is not None:
                cache_tokens = got
        lm.active.pop(req.uid, None)
        self.requests.pop(req.request_id, None)
        if want_cache and cache_tokens is not None:
            cache, tokens = cache_tokens
            if cache is not None and tokens:
                self.prompt_cache.put((lm.name, req.session_id), list(tokens), cache)

    def _finish(self, req: Request, reason: str, *, remove_from_batch: bool, keep_cache: bool, cache_tokens=None) -> None:
        if req.finished:
            return
        self._release(req, remove_from_batch=remove_from_batch, keep_cache=keep_cache, cache_tokens=cache_tokens)
        end = time.perf_counter()
        self.counters["completion_tokens_total"] += len(req.token_ids)
        self.counters["requests_cancelled" if reason == "cancelled" else "requests_completed"] += 1
        if self.tracing.enabled:
            self.tracing.finished(req, reason, end)
        if req.rpc_id is None:
            return
        result = {
            "request_id": req.request_id,
            "model": req.lm.name,
            "text": req.text[: req.emitted] if reason == "cancelled" else req.text,
            "token_ids": req.token_ids,
            "finish_reason": reason,
            "usage": usage(req),
            "timings": timings(req, end),
        }
        if req.logprobs:
            result["logprobs"] = req.logprob_list
        if reason == "stop" and req.stop_sequence is not None:
            result["stop_sequence"] = req.stop_sequence
        self.send({"jsonrpc": "2.0", "id": req.rpc_id, "result": result})

    def _fail(self, req: Request, message: str, *, remove_from_batch: bool) -> None:
        if req.finished:
            return
        try:
            self._release(req, remove_from_batch=remove_from_batch, keep_cache=False)
        except Exception:  # pragma: no cover
            log("release after failure failed:", traceback.format_exc())
        self.counters["requests_failed"] += 1
        self.counters["completion_tokens_total"] += len(req.token_ids)
        if self.tracing.enabled:
            self.tracing.finished(req, "error", time.perf_counter(), error=message)
        if req.rpc_id is None:
            return
        err = RpcError(GENERATION_FAILED, f"generation failed: {message}", {
            "request_id": req.request_id, "finish_reason": "error",
            "usage": usage(req), "timings": timings(req, time.perf_counter())})
        self.send({"jsonrpc": "2.0", "id": req.rpc_id, "error": err.to_json()})

    # ------------------------------------------------------------------ status
    def kv_bytes_in_use(self) -> int:
        total = 0
        for lm in self.models.values():
            try:
                total += int(lm.sched.nbytes)
            except Exception:  # pragma: no cover
                pass
        return total

    def stats(self) -> dict:
        return stats(self)

    def health(self) -> dict:
        return health(self)


__all__ = ["Engine", "EngineConfig", "LoadedModel", "Request", "INTERNAL_ERROR"]
