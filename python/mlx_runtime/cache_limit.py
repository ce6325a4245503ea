"""MLX's buffer-cache limit on a GPU (`mx.set_cache_limit`).

MLX keeps freed buffers in a cache to reuse them, up to its cache limit, which by default equals its
memory limit (0.95 of an H200's memory). mlx-lm's batched KV cache grows by concatenation, 256
positions at a time, so every growth step frees a buffer slightly smaller than any later request:
the cache never reuses them and fills with ever larger dead buffers (their sum grows with the square
of the context). On one H200 (reports/reference/gpu/README.md) `mlx_lm.server` at 48 users went from
3.6 GB to 138 GB of device memory in 27 s and died with `cudaMallocAsync ... out of memory`, in
phase 2 and in phase 3, in its decode step. A bounded cache is released as it fills and memory stays
at what is live.

The runtime applies the limit at start on a GPU; the live baseline (`mlx_lm.server`, started through
`import mlx_runtime`) gets the same limit through `apply()` so the two sides run the same allocator
settings. `MLX_RUNTIME_CACHE_LIMIT_BYTES` sets it (0 = no cache; unset = CACHE_FRACTION of the
device's memory, at most CACHE_MAX_BYTES). On the CPU nothing is changed.
"""

from __future__ import annotations

import os
from typing import Any, Mapping, Optional

ENV_VAR = "MLX_RUNTIME_CACHE_LIMIT_BYTES"
CACHE_FRACTION = 0.05
CACHE_MAX_BYTES = 8 << 30


def cache_limit_for(*, device: str, memory_bytes: Optional[int], configured: Optional[str]) -> Optional[int]:
    """The cache limit to set, or None to leave MLX's default (the CPU, or no memory size known).

    `configured` is the environment variable's text: a non-negative integer of bytes."""
    if configured is not None and configured.strip() != "":
        try:
            n = int(configured.strip())
        except ValueError:
            raise ValueError(f"{ENV_VAR} must be a whole number of bytes, got {configured!r}") from None
        if n < 0:
            raise ValueError(f"{ENV_VAR} must be >= 0, got {n}")
        return n
    if device != "gpu" or not memory_bytes or memory_bytes <= 0:
        return None
    return min(int(memory_bytes * CACHE_FRACTION), CACHE_MAX_BYTES)


def _device_memory(info: Mapping[str, Any]) -> Optional[int]:
    for key in ("max_recommended_working_set_size", "total_memory", "memory_size"):
        v = info.get(key)
        if isinstance(v, int) and not isinstance(v, bool) and v > 0:
            return v
    return None


def apply(environ: Optional[Mapping[str, str]] = None) -> dict:
    """Sets MLX's cache limit for its default device as above; returns what it did (for health)."""
    import mlx.core as mx

    env = os.environ if environ is None else environ
    dev = mx.default_device()
    device = "gpu" if dev.type == mx.gpu else "cpu"
    info: Mapping[str, Any] = {}
    if device == "gpu":
        try:
            info = dict(mx.device_info(dev))
        except Exception:  # noqa: BLE001 - no size known: leave the default
            info = {}
    limit = cache_limit_for(device=device, memory_bytes=_device_memory(info), configured=env.get(ENV_VAR))
    if limit is None:
        return {"cache_limit_bytes": None, "source": "mlx-default"}
    mx.set_cache_limit(limit)
    return {"cache_limit_bytes": limit, "source": "configured" if env.get(ENV_VAR, "").strip() else f"{device}:{CACHE_FRACTION}"}
