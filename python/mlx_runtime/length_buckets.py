"""mlx-lm's BatchGenerator, one per context-length bucket: decode without paying for padding.

mlx-lm's BatchKVCache left-pads every sequence of a batch to the longest one, and a decode step reads
the whole padded cache. On an H200 (reports/reference/gpu/README.md, fourth session, `steplog.py`) the
runtime's decode batch of ~63 multi-turn sequences held 2-4.6x more padded KV positions than real ones,
and its decode steps cost about twice the baseline's per token. Sequences of very different lengths in
one batch are the cause: one long conversation pads every short one to its length.

`LengthBucketedLoop` keeps one BatchGeneratorLoop per bucket of context length (the prompt's tokens
when the sequence is inserted; `bounds` are the buckets' upper edges, the last bucket is open) and
runs each bucket's BatchGenerator once per step: every sequence still gets one token per step, and a
step costs the sum of the buckets' passes, each padded only to its own longest sequence. The model's
weights are read once per bucket (for a 1B bf16 model ~2 GB, ~0.5 ms on an H200): worth it when the
padding saved is larger, which is what the GPU A/B has to show (`MLX_RUNTIME_CONTEXT_BUCKETS`).

uids are kept globally unique: each bucket's BatchGenerator starts at `index << 40` (uid_base).
"""

from __future__ import annotations

import bisect
import re
from typing import Any, List, Optional, Sequence, Tuple

from .batch_generator_loop import BatchGeneratorLoop, CacheTokens, Handle

UID_SHIFT = 40
ENV_VAR = "MLX_RUNTIME_CONTEXT_BUCKETS"


_EDGE = re.compile(r"\s*[0-9]+\s*", re.ASCII)


def parse_bounds(text: Optional[str]) -> Tuple[int, ...]:
    """'2048' or '1024,4096' -> increasing upper edges; '' or None -> () (one batch, mlx-lm's).
    The port of core/scheduling/context-buckets.ts parseContextBuckets (tests/data/context_bucket_cases.json)."""
    if text is None or not text.strip():
        return ()
    parts = text.split(",")
    bounds = tuple(int(p) for p in parts if _EDGE.fullmatch(p))
    if len(bounds) != len(parts) or any(b <= 0 for b in bounds) or any(a >= b for a, b in zip(bounds, bounds[1:])):
        raise ValueError(f"context buckets must be increasing positive integers like 2048 or 1024,4096, got {text!r}")
    return bounds


def bucket_of(bounds: Sequence[int], context_tokens: int) -> int:
    """The bucket whose upper edge is the first >= context_tokens (the last bucket is open): core's bucketOf."""
    return bisect.bisect_left(bounds, context_tokens)


class LengthBucketedLoop:
    name = "batch-generator"

    def __init__(self, model: Any, *, bounds: Sequence[int], **loop_kw: Any):
        if not bounds:
            raise ValueError("LengthBucketedLoop needs at least one bound (use BatchGeneratorLoop for one batch)")
        self.bounds = tuple(int(b) for b in bounds)
        self.loops: List[BatchGeneratorLoop] = [BatchGeneratorLoop(model, uid_base=i << UID_SHIFT, **loop_kw)
                                                for i in range(len(self.bounds) + 1)]

    def bucket_of(self, context_tokens: int) -> int:
        return bucket_of(self.bounds, context_tokens)

    def insert(self, prompt: List[int], n_cached: int, cache: Optional[List[Any]], sampler: Any,
               max_tokens: int, logits_processors: Optional[List[Any]] = None) -> int:
        loop = self.loops[self.bucket_of(len(prompt))]
        return loop.insert(prompt, n_cached, cache, sampler, max_tokens, logits_processors=logits_processors)

    def remove(self, uid: int, return_cache: bool) -> Optional[CacheTokens]:
        return self.loops[uid >> UID_SHIFT].remove(uid, return_cache)

    def step(self, handle: Handle) -> None:
        for loop in self.loops:
            g, p, w = loop.counts()
            if g or p or w:
                loop.step(handle)

    def counts(self) -> Tuple[int, int, int]:
        c = [loop.counts() for loop in self.loops]
        return sum(x[0] for x in c), sum(x[1] for x in c), sum(x[2] for x in c)

    @property
    def nbytes(self) -> int:
        return sum(loop.nbytes for loop in self.loops)

    def reset(self) -> None:
        for loop in self.loops:
            loop.reset()

    def close(self) -> None:
        for loop in self.loops:
            loop.close()

    def describe(self) -> dict:
        return {"scheduler": self.name, "context_buckets": list(self.bounds),
                "bucket_sequences": [loop.counts()[0] for loop in self.loops]}
