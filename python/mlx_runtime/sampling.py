"""Per-request samplers.

Greedy requests share mlx_lm's `greedy_sampler` (one batched argmax per step).
Sampled requests (temperature > 0) get their own PRNG key chain, so the same seed
gives the same tokens whether the request runs alone or inside a batch, and no
request touches mlx's global random state.
"""

from __future__ import annotations

import secrets
from typing import Callable, Optional

import mlx.core as mx
from mlx_lm.sample_utils import apply_top_p

Sampler = Callable[[mx.array], mx.array]


def make_request_sampler(temperature: float, top_p: float, seed: Optional[int]) -> Optional[Sampler]:
    """None means greedy (the BatchGenerator's shared fallback sampler)."""
    if temperature <= 0:
        return None
    if seed is None:
        seed = secrets.randbits(63)
    state = {"key": mx.random.key(seed % (1 << 64))}
    inv_temp = 1.0 / temperature
    use_top_p = 0.0 < top_p < 1.0

    def sampler(logprobs: mx.array) -> mx.array:
        keys = mx.random.split(state["key"], 2)
        state["key"] = keys[0]
        if use_top_p:
            logprobs = apply_top_p(logprobs, top_p)
        return mx.random.categorical(logprobs * inv_temp, axis=-1, key=keys[1])

    return sampler
