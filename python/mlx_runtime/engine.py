"""The inference engine: loaded models, continuous batching, limits, prompt cache.

All methods run on one thread (the engine thread). Every loaded model has one step
loop (planned_loop.py): the runtime's own planned loop (scheduler "planner": decode
first, prefill chunks in the token budget the step planner leaves) or mlx-lm's
`BatchGenerator` (scheduler "batch-generator"); `step()` advances each of them by one
step, so requests join the running batch between steps and finished ones leave it.
Long because request validation, limits, the prompt cache and the JSON-RPC result shapes all
work on the same request table; the step loops live in planned_loop.py.
"""

from __future__ import annotations

import math
import os
import sys
import time
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, List, Optional, Tuple

import mlx.core as mx
import mlx_lm
from mlx_lm.utils import load as mlx_lm_load

from . import blas, cache_limit, clear_cache
from .kv_accounting import padded_batch_bytes
from .logprobs import TOP_LOGPROBS_MAX, TokenPieces, token_logprobs
from .structured import FIELD as RESPONSE_FORMAT, GrammarCompiler, parse_response_format
from .tools import call_schema, parse_tools, template_messages
from .kv_budget import KvBudget, current_kv_budget
from .errors import (
    CONTEXT_LENGTH_EXCEEDED,
    DUPLICATE_REQUEST_ID,
    GENERATION_FAILED,
    INTERNAL_ERROR,
    KV_CAPACITY_EXCEEDED,
    MODEL_LOAD_FAILED,
    MODEL_NOT_FOUND,
    SHUTTING_DOWN,
    TOO_MANY_SEQUENCES,
    RpcError,
    invalid_param,
)
from .planned_loop import SCHEDULERS, BatchGeneratorLoop, PlannedLoop
from .prompt_cache import SessionPromptCache
from .sampling import make_request_sampler
from .step_cost import StepCostPrior
from .step_planner import StepPlannerConfig

Send = Callable[[dict], None]


def log(*args: Any) -> None:
    print("[mlx_runtime]", *args, file=sys.stderr, flush=True)


def _ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)


# The step planner's and cost model's defaults, from their own modules (one place each).
_PLANNER = StepPlannerConfig()
_PRIOR = StepCostPrior(base_ms=10.0, per_sequence_ms=1.0, per_kilo_context_ms=1.0, prefill_pass_ms=5.0,
                       per_kilo_prefill_tokens_ms=200.0)  # a small model on a CPU; learned online anyway


@dataclass
class EngineConfig:
    max_sequences: int = 64
    max_kv_bytes: Optional[int] = None  # None: sized from the device's memory (kv_budget.py)
    # Sessions kept (LRU), also bounded by max_kv_bytes. The worker node passes its governor's
    # memory.idleSessionsMax (core/config/defaults.ts, 4096); 64 made 128 users' turns all miss.
    prompt_cache_entries: int = 4096
    prefill_step_size: int = 512
    prefill_batch_size: int = 8
    default_max_tokens: int = 256
    max_tokens_limit: int = 1 << 20
    enable_fault_injection: bool = False
    # step loop: "batch-generator" (mlx-lm's BatchGenerator, the default until a GPU A/B of the
    # rewritten planner loop says otherwise: reports/reference/gpu/README.md) | "planner" (the
    # runtime's own loop, planned_loop.py, every step planned by step_planner.py)
    scheduler: str = "batch-generator"
    # planner settings and the step cost prior (ms); defaults are step_planner.py's and step_cost.py's
    itl_target_ms: float = _PLANNER.itl_target_ms
    decode_share_max: float = _PLANNER.decode_share_max
    min_chunk_tokens: int = _PLANNER.min_chunk_tokens
    max_chunk_tokens: int = _PLANNER.max_chunk_tokens
    latency_floor_factor: float = _PLANNER.latency_floor_factor
    cost_base_ms: float = _PRIOR.base_ms
    cost_per_sequence_ms: float = _PRIOR.per_sequence_ms
    cost_per_kilo_context_ms: float = _PRIOR.per_kilo_context_ms
    cost_prefill_pass_ms: float = _PRIOR.prefill_pass_ms
    cost_per_kilo_prefill_tokens_ms: float = _PRIOR.per_kilo_prefill_tokens_ms

    def planner_config(self) -> StepPlannerConfig:
        return StepPlannerConfig(itl_target_ms=float(self.itl_target_ms), decode_share_max=float(self.decode_share_max),
                                 max_sequences=int(self.max_sequences), min_chunk_tokens=int(self.min_chunk_tokens),
                                 max_chunk_tokens=int(self.max_chunk_tokens),
                                 latency_floor_factor=float(self.latency_floor_factor))

    def cost_prior(self) -> StepCostPrior:
        return StepCostPrior(base_ms=float(self.cost_base_ms), per_sequence_ms=float(self.cost_per_sequence_ms),
                             per_kilo_context_ms=float(self.cost_per_kilo_context_ms),
                             prefill_pass_ms=float(self.cost_prefill_pass_ms),
                             per_kilo_prefill_tokens_ms=float(self.cost_per_kilo_prefill_tokens_ms))

    def validate(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}")
        self.planner_config().validate()
        for k, v in self.cost_prior().__dict__.items():
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"cost prior {k} must be a finite number >= 0, got {v}")

    def describe(self) -> dict:
        out: dict = {"scheduler": self.scheduler, "max_sequences": self.max_sequences}
        if self.scheduler == "planner":
            out["planner"] = {k: v for k, v in self.planner_config().__dict__.items() if k != "max_sequences"}
            out["cost_prior"] = {k: v for k, v in self.cost_prior().__dict__.items()}
        else:
            out["batch_generator"] = {"prefill_step_size": self.prefill_step_size,
                                      "prefill_batch_size": self.prefill_batch_size}
        return out

    def kv_budget(self, model_bytes: int = 0) -> KvBudget:
        """max_kv_bytes as configured, else sized from the default device's memory less the weights."""
        return current_kv_budget(model_bytes, configured=int(self.max_kv_bytes) if self.max_kv_bytes else None)


class LoadedModel:
    def __init__(self, name: str, path: str, engine_cfg: EngineConfig):
        t0 = time.perf_counter()
        model, tokenizer, config = mlx_lm_load(path, return_config=True)
        self.load_ms = _ms(time.perf_counter() - t0)
        self.name = name
        self.path = path
        self.model = model
        self.tokenizer = tokenizer
        self.config = config
        args = model.args
        n_layers = len(model.layers)
        n_kv = getattr(args, "num_key_value_heads", None) or args.num_attention_heads
        head_dim = getattr(args, "head_dim", None) or args.hidden_size // args.num_attention_heads
        dtype_size = model.model.embed_tokens.weight.dtype.size
        # keys + values, every layer, one token
        self.kv_bytes_per_token = int(2 * n_layers * n_kv * head_dim * dtype_size)
        self.model_bytes = int(sum(v.nbytes for _, v in _tree_leaves(model.parameters())))
        self.max_context = int(config.get("max_position_embeddings") or 4096)
        self.vocab_size = int(args.vocab_size)
        self.eos_token_ids = sorted(int(t) for t in tokenizer.eos_token_ids)
        self.pieces = TokenPieces(tokenizer)  # token text and bytes for logprobs
        self.engine_cfg = engine_cfg
        self.sched = self.make_scheduler()
        self.active: Dict[int, "Request"] = {}  # BatchGenerator uid -> request
        self._grammar: Optional[GrammarCompiler] = None

    def grammar(self) -> GrammarCompiler:
        """The structured-output compiler (its llguidance tokenizer built on first use)."""
        if self._grammar is None:
            self._grammar = GrammarCompiler(self.tokenizer._tokenizer, self.vocab_size, self.eos_token_ids)
        return self._grammar

    def make_scheduler(self):
        c = self.engine_cfg
        if c.scheduler == "batch-generator":
            return BatchGeneratorLoop(self.model, eos_token_ids=self.eos_token_ids, max_sequences=c.max_sequences,
                                      default_max_tokens=c.default_max_tokens,
                                      prefill_batch_size=c.prefill_batch_size, prefill_step_size=c.prefill_step_size)
        return PlannedLoop(self.model, eos_token_ids=self.eos_token_ids, planner=c.planner_config(),
                           cost_prior=c.cost_prior())

    def describe(self) -> dict:
        return {
            "name": self.name,
            "path": self.path,
            "model_type": self.config.get("model_type"),
            "vocab_size": self.vocab_size,
            "num_layers": len(self.model.layers),
            "hidden_size": int(self.model.args.hidden_size),
            "max_context": self.max_context,
            "model_bytes": self.model_bytes,
            "kv_bytes_per_token": self.kv_bytes_per_token,
            "eos_token_ids": self.eos_token_ids,
            "active_sequences": len(self.active),
            "load_ms": self.load_ms,
        }

    def close(self) -> None:
        self.sched.close()


def _tree_leaves(tree, prefix=""):
    if isinstance(tree, dict):
        for k, v in tree.items():
            yield from _tree_leaves(v, f"{prefix}.{k}" if prefix else k)
    elif isinstance(tree, (list, tuple)):
        for i, v in enumerate(tree):
            yield from _tree_leaves(v, f"{prefix}.{i}")
    else:
        yield prefix, tree


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
    finished: bool = False
    stop_sequence: Optional[str] = None  # the stop string that ended the output, if one did


class Engine:
    def __init__(self, cfg: EngineConfig, send: Send, send_many: Optional[Callable[[List[dict]], None]] = None):
        cfg.validate()
        self.cfg = cfg
        self.send = send
        self._send_direct = send
        # one write of several protocol lines (server.Output.send_many); per-step notifications use it
        self._send_many = send_many or (lambda objs: [send(o) for o in objs])
        self.kv_budget: KvBudget = cfg.kv_budget(0)
        # MLX's buffer cache bounded on a GPU (cache_limit.py: unbounded, mlx-lm's growing KV fills it)
        self.cache_limit = cache_limit.apply()
        self.cache_limit.update(clear_cache.apply())  # mlx-lm's clear_cache per prefill chunk (clear_cache.py)
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
    def encode_input(self, lm: LoadedModel, params: dict, *, for_generation: bool) -> List[int]:
        """Token ids for `prompt` (string or list of ids) or `messages` (chat)."""
        tok = lm.tokenizer
        has_prompt = "prompt" in params and params["prompt"] is not None
        has_messages = "messages" in params and params["messages"] is not None
        if has_prompt == has_messages:
            raise invalid_param("prompt", "exactly one of 'prompt' or 'messages' is required")
        if has_prompt:
            prompt = params["prompt"]
            if isinstance(prompt, str):
                if prompt == "":
                    raise invalid_param("prompt", "must not be empty")
                add_special = tok.bos_token is None or not prompt.startswith(tok.bos_token)
                ids = list(tok.encode(prompt, add_special_tokens=add_special))
            elif isinstance(prompt, list) and prompt and all(isinstance(t, int) and not isinstance(t, bool) for t in prompt):
                bad = [t for t in prompt if t < 0 or t >= lm.vocab_size]
                if bad:
                    raise invalid_param("prompt", f"token id {bad[0]} out of range [0, {lm.vocab_size})")
                ids = list(prompt)
            else:
                raise invalid_param("prompt", "must be a non-empty string or a non-empty list of token ids")
        else:
            messages = params["messages"]
            if not isinstance(messages, list) or not messages:
                raise invalid_param("messages", "must be a non-empty list of {role, content} objects")
            msgs = template_messages(messages)
            tools = parse_tools(params.get("tools"))
            add_gen = params.get("add_generation_prompt", for_generation)
            if tools is None:
                text = tok.apply_chat_template(msgs, add_generation_prompt=bool(add_gen), tokenize=False)
            else:
                text = tok.apply_chat_template(msgs, tools=tools, add_generation_prompt=bool(add_gen), tokenize=False)
            ids = list(tok.encode(text, add_special_tokens=False))
        if not ids:
            raise invalid_param("prompt", "encodes to zero tokens")
        return ids

    def tokenize(self, params: dict) -> dict:
        lm = self.resolve_model(_opt_str(params, "model"))
        if params.get("text") is not None:
            if not isinstance(params["text"], str) or params["text"] == "":
                raise invalid_param("text", "must be a non-empty string")
            if params.get("messages") is not None:
                raise invalid_param("text", "give either 'text' or 'messages', not both")
            params = {"prompt": params["text"]}
        elif params.get("messages") is None:
            raise invalid_param("text", "one of 'text' or 'messages' is required")
        else:
            params = {"messages": params["messages"], "tools": params.get("tools"),
                      "add_generation_prompt": params.get("add_generation_prompt", False)}
        ids = self.encode_input(lm, params, for_generation=False)
        return {"model": lm.name, "token_ids": ids, "count": len(ids),
                "tokens": [lm.tokenizer.convert_ids_to_tokens(i) for i in ids]}

    def embed(self, params: dict) -> dict:
        lm = self.resolve_model(_opt_str(params, "model"))
        inp = params.get("input")
        if isinstance(inp, str):
            texts = [inp]
        elif isinstance(inp, list) and inp and all(isinstance(s, str) for s in inp):
            texts = inp
        else:
            raise invalid_param("input", "must be a non-empty string or a non-empty list of strings")
        if any(s == "" for s in texts):
            raise invalid_param("input", "strings must not be empty")
        out, n_tokens = [], 0
        for s in texts:
            ids = list(lm.tokenizer.encode(s, add_special_tokens=True))
            ids = ids[: lm.max_context]
            n_tokens += len(ids)
            h = lm.model.model(mx.array([ids]))  # (1, L, D), final-norm hidden states
            v = mx.mean(h[0].astype(mx.float32), axis=0)
            v = v / mx.maximum(mx.linalg.norm(v), 1e-12)
            out.append(v.tolist())
        return {"model": lm.name, "embeddings": out, "dim": len(out[0]), "usage": {"prompt_tokens": n_tokens}}

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
    def _kv_reserved(self, extra: Optional[Tuple[Any, int]] = None) -> int:
        """The padded KV cost of the running batches (kv_accounting.py), with `extra` = (model,
        reserved tokens) of a request being admitted counted in."""
        by_model: Dict[str, Tuple[int, List[int]]] = {}
        for r in self.requests.values():
            by_model.setdefault(r.lm.name, (r.lm.kv_bytes_per_token, []))[1].append(r.reserved_tokens)
        if extra is not None:
            lm, tokens = extra
            by_model.setdefault(lm.name, (lm.kv_bytes_per_token, []))[1].append(tokens)
        return sum(padded_batch_bytes(toks, bpt) for bpt, toks in by_model.values())

    def active_sequences(self) -> int:
        return len(self.requests)

    def has_work(self) -> bool:
        return bool(self.requests)

    def generate(self, rpc_id: Any, params: dict, received_at: float) -> None:
        """Validate and admit a generate request (raises RpcError to reject)."""
        if self.shutting_down:
            raise RpcError(SHUTTING_DOWN, "runtime is shutting down; not accepting new requests")
        lm = self.resolve_model(_opt_str(params, "model"))
        # null means "default" for every optional field (OpenAI-style clients send nulls)
        max_tokens = _or(params.get("max_tokens"), self.cfg.default_max_tokens)
        if not _is_int(max_tokens) or max_tokens < 1 or max_tokens > self.cfg.max_tokens_limit:
            raise invalid_param("max_tokens", f"must be an integer in [1, {self.cfg.max_tokens_limit}]")
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
        session_id = _opt_str(params, "session_id")
        request_id = _opt_str(params, "request_id")
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
            if not self.cfg.enable_fault_injection:
                raise invalid_param("fault", "fault injection is disabled (start with --enable-fault-injection)")
            if not isinstance(f, dict) or not _is_int(f.get("error_after_tokens")):
                raise invalid_param("fault", "must be {\"error_after_tokens\": N}")
            fault_after = int(f["error_after_tokens"])
        if request_id is None:
            self._auto_id += 1
            request_id = f"auto-{self._auto_id}"
        if request_id in self.requests:
            raise RpcError(DUPLICATE_REQUEST_ID, f"request_id {request_id!r} is already in flight",
                           {"request_id": request_id})

        prompt = self.encode_input(lm, params, for_generation=True)
        if len(prompt) + max_tokens > lm.max_context:
            raise RpcError(CONTEXT_LENGTH_EXCEEDED,
                           f"prompt ({len(prompt)} tokens) + max_tokens ({max_tokens}) exceeds the "
                           f"model context of {lm.max_context} tokens",
                           {"request_id": request_id, "prompt_tokens": len(prompt),
                            "max_tokens": max_tokens, "max_context": lm.max_context})

        # ---- limits: sequences, then KV bytes (evicting idle prompt-cache entries first)
        if self.active_sequences() >= self.cfg.max_sequences:
            self.counters["requests_rejected"] += 1
            raise RpcError(TOO_MANY_SEQUENCES,
                           f"{self.active_sequences()} sequences in flight (max_sequences={self.cfg.max_sequences})",
                           {"request_id": request_id, "active_sequences": self.active_sequences(),
                            "max_sequences": self.cfg.max_sequences})
        # The padded cost of the batch with this request in it, minus without (kv_accounting.py).
        reserve_tokens = len(prompt) + max_tokens
        reserved_now = self._kv_reserved()
        need = self._kv_reserved((lm, reserve_tokens)) - reserved_now
        while reserved_now + self.prompt_cache.nbytes + need > self.max_kv_bytes and len(self.prompt_cache):
            self.prompt_cache.evict_one()
        available = self.max_kv_bytes - reserved_now - self.prompt_cache.nbytes
        if need > available:
            self.counters["requests_rejected"] += 1
            raise RpcError(KV_CAPACITY_EXCEEDED,
                           f"request needs {need} KV bytes (prompt {len(prompt)} + max_tokens {max_tokens} at "
                           f"{lm.kv_bytes_per_token} B/token in a batch padded to its longest sequence, x2 while "
                           f"it is merged) but only {max(available, 0)} of max_kv_bytes="
                           f"{self.max_kv_bytes} are free",
                           {"request_id": request_id, "needed_bytes": need, "available_bytes": max(available, 0),
                            "max_kv_bytes": self.max_kv_bytes})

        cache, n_cached = None, 0
        if session_id is not None:
            cache, n_cached = self.prompt_cache.take((lm.name, session_id), prompt)

        sampler = make_request_sampler(float(temperature), float(top_p), seed)
        now = time.perf_counter()
        req = Request(
            rpc_id=rpc_id, request_id=request_id, lm=lm, prompt=prompt, cached_tokens=n_cached,
            max_tokens=int(max_tokens), stop=stop, session_id=session_id, stream=stream,
            received_at=received_at, admitted_at=now, reserved_kv_bytes=need, reserved_tokens=reserve_tokens, fault_after=fault_after,
            logprobs=logprobs, top_logprobs=int(top_logprobs),
        )
        req.detok = lm.tokenizer.detokenizer
        uid = lm.sched.insert(prompt, n_cached, cache, sampler, req.max_tokens, logits_processors=processors)
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

        stop_hit = False
        if req.stop:
            start = max(0, req.emitted - max(len(s) for s in req.stop))
            pos = -1
            for s in req.stop:
                p = req.text.find(s, start)
                if p != -1 and (pos == -1 or p < pos):
                    pos = p
                    req.stop_sequence = s
            if pos != -1:
                req.text = req.text[:pos]
                stop_hit = True
                finish = "stop"
        # hold back a tail that may be the start of a stop string
        limit = len(req.text)
        if req.stop and not stop_hit and finish is None:
            for s in req.stop:
                for k in range(min(len(s) - 1, len(req.text)), 0, -1):
                    if req.text.endswith(s[:k]):
                        limit = min(limit, len(req.text) - k)
                        break
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

    def _usage(self, req: Request) -> dict:
        return {
            "prompt_tokens": len(req.prompt),
            "completion_tokens": len(req.token_ids),
            "total_tokens": len(req.prompt) + len(req.token_ids),
            "cached_tokens": req.cached_tokens,
            "prefill_tokens": len(req.prompt) - req.cached_tokens,
        }

    def _timings(self, req: Request, end: float) -> dict:
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

    def _finish(self, req: Request, reason: str, *, remove_from_batch: bool, keep_cache: bool, cache_tokens=None) -> None:
        if req.finished:
            return
        self._release(req, remove_from_batch=remove_from_batch, keep_cache=keep_cache, cache_tokens=cache_tokens)
        end = time.perf_counter()
        self.counters["completion_tokens_total"] += len(req.token_ids)
        self.counters["requests_cancelled" if reason == "cancelled" else "requests_completed"] += 1
        if req.rpc_id is None:
            return
        result = {
            "request_id": req.request_id,
            "model": req.lm.name,
            "text": req.text[: req.emitted] if reason == "cancelled" else req.text,
            "token_ids": req.token_ids,
            "finish_reason": reason,
            "usage": self._usage(req),
            "timings": self._timings(req, end),
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
        if req.rpc_id is None:
            return
        err = RpcError(GENERATION_FAILED, f"generation failed: {message}", {
            "request_id": req.request_id, "finish_reason": "error",
            "usage": self._usage(req), "timings": self._timings(req, time.perf_counter())})
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
        per_model = []
        batch_size = prefilling = waiting = 0
        for lm in self.models.values():
            g, p, w = lm.sched.counts()
            batch_size += g
            prefilling += p
            waiting += w
            per_model.append({"name": lm.name, "active_sequences": len(lm.active), "batch_size": g,
                              "prefilling": p, "waiting": w, "model_bytes": lm.model_bytes,
                              **lm.sched.describe()})
        kv_in_use = self.kv_bytes_in_use()
        return {
            "active_sequences": self.active_sequences(),
            "batch_size": batch_size,
            "prefilling_sequences": prefilling,
            "waiting_sequences": waiting,
            "max_sequences": self.cfg.max_sequences,
            "scheduler": self.cfg.describe(),
            "kv_bytes_in_use": kv_in_use,
            "kv_bytes_reserved": self._kv_reserved(),
            "prompt_cache_bytes": int(self.prompt_cache.nbytes),
            "max_kv_bytes": self.max_kv_bytes,
            "kv_budget_source": self.kv_budget.source,
            "kv_budget": self.kv_budget.describe(),
            "prompt_cache": self.prompt_cache.stats(),
            "model_bytes": sum(lm.model_bytes for lm in self.models.values()),
            "models": per_model,
            "counters": dict(self.counters),
            "memory": {"active_bytes": int(mx.get_active_memory()), "peak_bytes": int(mx.get_peak_memory()),
                       "cache_bytes": int(mx.get_cache_memory()), "cache_limit_bytes": self.cache_limit["cache_limit_bytes"]},
            "uptime_ms": _ms(time.perf_counter() - self.started_at),
        }

    def health(self) -> dict:
        return {
            "status": "draining" if self.shutting_down else "ok",
            "models": list(self.models),
            "active_sequences": self.active_sequences(),
            "uptime_ms": _ms(time.perf_counter() - self.started_at),
            "pid": os.getpid(),
            "mlx_version": mx.__version__,
            "mlx_lm_version": getattr(mlx_lm, "__version__", None),
            "device": str(mx.default_device()),
            "blas": blas.status(),
            "max_kv_bytes": self.max_kv_bytes,
            "kv_budget_source": self.kv_budget.source,
            "kv_budget": self.kv_budget.describe(),
            "cache_limit": self.cache_limit,
            "scheduler": {**self.cfg.describe(),
                          "models": {lm.name: lm.sched.describe() for lm in self.models.values()}},
        }


def _or(v: Any, default: Any) -> Any:
    return default if v is None else v


def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _is_num(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _opt_str(params: dict, key: str) -> Optional[str]:
    v = params.get(key)
    if v is None:
        return None
    if not isinstance(v, str) or v == "":
        raise invalid_param(key, "must be a non-empty string")
    return v


__all__ = ["Engine", "EngineConfig", "LoadedModel", "Request", "INTERNAL_ERROR"]
