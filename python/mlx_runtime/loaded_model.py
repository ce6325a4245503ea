"""A model loaded by the runtime: its weights and tokenizer (mlx-lm), the sizes the engine accounts
with (KV bytes per token, weight bytes, context), its step loop and its structured-output compiler."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Dict, Optional

from mlx_lm.utils import load as mlx_lm_load

from .engine_config import EngineConfig
from .log import ms as _ms
from .logprobs import TokenPieces
from .length_buckets import LengthBucketedLoop
from .batch_generator_loop import BatchGeneratorLoop
from .planned_loop import PlannedLoop
from .structured import GrammarCompiler

if TYPE_CHECKING:
    from .request import Request


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
            kw = dict(eos_token_ids=self.eos_token_ids, max_sequences=c.max_sequences, default_max_tokens=c.default_max_tokens,
                      prefill_batch_size=c.prefill_batch_size, prefill_step_size=c.prefill_step_size,
                      admit_group=c.admit_group)
            if c.context_buckets:
                return LengthBucketedLoop(self.model, bounds=c.context_buckets, **kw)
            return BatchGeneratorLoop(self.model, **kw)
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
