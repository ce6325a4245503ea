"""Structured output (`generate`'s `response_format`): constrained decoding inside continuous batching.

A request with `{"type": "json_object"}` or `{"type": "json_schema", "json_schema": {"schema": ...}}`
gets its own grammar state (an llguidance `LLMatcher`, compiled from the JSON schema; json_object is
the schema `{"type": "object"}`) and a logits processor that mlx-lm's `GenerationBatch` applies to its
row only (`logits_processors[e]`): the other rows of the running batch are untouched, so a constrained
request does not make a batch of one.

Every step the processor
  1. advances the grammar by the token sampled the step before (the last entry of its token context;
     the first call sees the prompt's last token, which is not part of the output and is skipped);
  2. computes the mask of allowed next tokens (llguidance, one bit per token) and sets every other
     logit to -inf; once the grammar is complete (nothing may follow the JSON value) only EOS is
     allowed, so the sequence ends with finish_reason "stop".

The JSON is generated compactly (llguidance's `whitespace_flexible: false`): no free whitespace between
tokens, so a model cannot spend its budget on blanks. A token budget (max_tokens) too small for the
value to close ends with finish_reason "length" and an unfinished (invalid) JSON text: the mask
constrains what is generated, not how long it takes.

Cost: reading the previous token (`.item()`) waits for the previous step's sampling; the batch's
pipelining (the next forward pass queued before the host handles this step's tokens) is kept for the
forward pass, the mask itself is host work (see scripts/structured-mask-cost.sh for the figures).
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Sequence

import mlx.core as mx
import numpy as np

from .errors import invalid_param

FIELD = "response_format"


def parse_response_format(value: Any) -> Optional[dict]:
    """The JSON schema a response_format asks for, or None (absent, null or {"type": "text"}).
    Raises the invalid-params RpcError naming `response_format` for anything else."""
    if value is None:
        return None
    if not isinstance(value, dict):
        raise invalid_param(FIELD, "must be an object with a type: text, json_object or json_schema")
    kind = value.get("type")
    if kind == "text":
        return None
    if kind == "json_object":
        return {"type": "object"}
    if kind == "json_schema":
        js = value.get("json_schema")
        if not isinstance(js, dict):
            raise invalid_param(FIELD, "json_schema: must be an object with a schema")
        schema = js.get("schema")
        if not isinstance(schema, dict):
            raise invalid_param(FIELD, "json_schema.schema: must be a JSON schema object")
        if js.get("strict") is not None and not isinstance(js.get("strict"), bool):
            raise invalid_param(FIELD, "json_schema.strict: must be a boolean")
        return schema
    raise invalid_param(FIELD, f"type must be text, json_object or json_schema (got {json.dumps(kind)})")


class GrammarCompiler:
    """Per model: the llguidance tokenizer (built once from the HF tokenizer) and grammar compilation."""

    def __init__(self, hf_tokenizer: Any, vocab_size: int, eos_token_ids: Sequence[int]):
        import llguidance
        import llguidance.hf

        self._llg = llguidance
        self.vocab_size = int(vocab_size)  # the logits' width (may exceed the tokenizer's)
        self.eos_token_ids = [int(t) for t in eos_token_ids]
        self.tokenizer = llguidance.hf.from_tokenizer(hf_tokenizer, n_vocab=self.vocab_size,
                                                      eos_token=self.eos_token_ids[0])
        eos_only = np.zeros(self.vocab_size, dtype=bool)
        eos_only[[t for t in self.eos_token_ids if t < self.vocab_size]] = True
        self.eos_only = mx.array(eos_only)

    def compile(self, schema: dict, field: str = FIELD) -> str:
        """The llguidance grammar of a JSON schema; invalid params naming `field` (response_format) if it fails."""
        M = self._llg.LLMatcher
        try:
            grammar = M.grammar_from_json_schema(schema, defaults={"whitespace_flexible": False})
            is_error, msgs = M.validate_grammar_with_warnings(grammar, self.tokenizer)
        except Exception as e:  # a schema llguidance cannot read
            raise invalid_param(field, f"invalid JSON schema: {e}")
        if is_error:
            raise invalid_param(field, f"invalid JSON schema: {msgs[0] if msgs else 'rejected'}")
        return grammar

    def processor(self, grammar: str) -> "GrammarProcessor":
        return GrammarProcessor(self, self._llg.LLMatcher(self.tokenizer, grammar, log_level=0))


class GrammarProcessor:
    """mlx-lm logits processor `(token_context, logits) -> logits` for one sequence."""

    def __init__(self, compiler: GrammarCompiler, matcher: Any):
        self.c = compiler
        self.matcher = matcher
        self.started = False
        self.steps = 0
        self.mask_seconds = 0.0  # host time spent here (consume + mask), for the cost figures

    def __call__(self, tokens: Any, logits: mx.array) -> mx.array:
        import time

        if self.started:
            last = int(tokens[-1].item())  # the token sampled the step before
            t0 = time.perf_counter()
            self.matcher.consume_token(last)
        else:
            t0 = time.perf_counter()
            self.started = True
        allowed = self.allowed()
        self.mask_seconds += time.perf_counter() - t0
        self.steps += 1
        return mx.where(allowed, logits, mx.array(-mx.inf, dtype=logits.dtype))

    def allowed(self) -> mx.array:
        """(vocab,) bool: the tokens the grammar allows next; only EOS once it is complete (or broken)."""
        m = self.matcher
        if m.is_stopped() or m.is_error():
            return self.c.eos_only
        bits = np.unpackbits(np.frombuffer(m.compute_bitmask(), dtype=np.uint8), bitorder="little")
        v = self.c.vocab_size
        if bits.size < v:
            bits = np.concatenate([bits, np.zeros(v - bits.size, dtype=np.uint8)])
        return mx.array(bits[:v].astype(bool))


def mask_cost_summary(procs: List[GrammarProcessor]) -> dict:
    steps = sum(p.steps for p in procs)
    secs = sum(p.mask_seconds for p in procs)
    return {"steps": steps, "mask_us_per_token": round(secs / steps * 1e6, 2) if steps else None}
