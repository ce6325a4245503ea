"""The runtime's default KV budget (`max_kv_bytes` when `--max-kv-bytes` is not given).

The KV cache lives where MLX computes. On a GPU that is the device's memory, not the host's RAM:
on an H200 the KV is in the GPU's 141 GB, while the host (a microVM) may report 31 GiB of RAM at
start. So the budget is sized from the device MLX runs on:

- GPU: the device memory MLX reports in `mx.device_info()`, first of
    * `max_recommended_working_set_size` (Metal: what macOS lets the GPU keep resident; the
      unified `memory_size` also holds the OS and every other process),
    * `total_memory` (CUDA: the device's own memory, from NVML or cudaMemGetInfo),
    * `memory_size` (Metal: unified memory, when the working-set key is missing);
  capped by `mx.get_memory_limit()` (MLX's allocator starts reclaiming its cache above it: 0.8 of
  the device on CUDA, 1.5x the working set on Metal, so it only bites on CUDA); with no memory key
  the memory limit alone, then the host's physical memory. The budget is
  GPU_FRACTION (0.9) x (that memory - the loaded models' weights): on a GPU given to this runtime
  nearly all memory left after the weights can hold KV; the 10 % kept back covers activations
  (a prefill pass's logits, prefill_batch_size x prefill_step_size x vocab floats, are ~2 GB for a
  128k vocabulary) and the allocator's rounding and cache.
- CPU: CPU_FRACTION (25 %) of physical memory, as before: the host's RAM is shared with the OS, the
  worker node and everything else on the machine, and on CPU the weights live there too.

`--max-kv-bytes` always wins (source "configured"). Several runtimes on one GPU each size their
budget from the whole device; the worker node governs the node with the minimum over its runtimes.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any, Mapping, Optional

GPU_FRACTION = 0.9
CPU_FRACTION = 0.25
# A budget never goes below this (a model larger than the memory read would otherwise give 0).
MIN_BUDGET_BYTES = 64 << 20
# device_info keys holding the device's memory, in order of preference (see the module docstring)
GPU_MEMORY_KEYS = ("max_recommended_working_set_size", "total_memory", "memory_size")


@dataclass(frozen=True)
class KvBudget:
    bytes: int
    # "configured" | "gpu:<device_info key>" | "gpu:memory_limit" | "gpu:physical_memory" | "cpu:physical_memory"
    source: str
    device: str  # "gpu" | "cpu"
    memory_bytes: Optional[int]  # the memory the budget was sized from (None when configured)
    model_bytes: int
    fraction: Optional[float]
    capped_by_memory_limit: bool = False

    def describe(self) -> dict:
        return {"bytes": self.bytes, "source": self.source, "device": self.device,
                "memory_bytes": self.memory_bytes, "model_bytes": self.model_bytes,
                "fraction": self.fraction, "capped_by_memory_limit": self.capped_by_memory_limit}


def _positive_int(v: Any) -> Optional[int]:
    """An int > 0 from a device_info value (int, or a numeric string), else None."""
    if isinstance(v, bool):
        return None
    if isinstance(v, int):
        return v if v > 0 else None
    if isinstance(v, float) and v > 0 and v == v and v != float("inf"):
        return int(v)
    if isinstance(v, str):
        try:
            n = int(v.strip())
        except ValueError:
            return None
        return n if n > 0 else None
    return None


def size_kv_budget(*, device: str, info: Optional[Mapping[str, Any]], memory_limit: Optional[int],
                   physical_memory: int, model_bytes: int = 0, configured: Optional[int] = None) -> KvBudget:
    """The KV budget for a runtime on `device` ("gpu" | "cpu") with `model_bytes` of weights loaded.

    `info` is `mx.device_info()` (any keys; missing or odd values are skipped), `memory_limit`
    `mx.get_memory_limit()` (None or 0 when unknown), `physical_memory` the host's RAM."""
    model_bytes = max(int(model_bytes or 0), 0)
    if configured:
        return KvBudget(int(configured), "configured", device, None, model_bytes, None)
    if device != "gpu":
        return KvBudget(max(int(physical_memory * CPU_FRACTION), MIN_BUDGET_BYTES), "cpu:physical_memory", "cpu",
                        int(physical_memory), model_bytes, CPU_FRACTION)
    info = info if isinstance(info, Mapping) else {}
    limit = _positive_int(memory_limit)
    memory, source, capped = None, None, False
    for key in GPU_MEMORY_KEYS:
        memory = _positive_int(info.get(key))
        if memory is not None:
            source = f"gpu:{key}"
            break
    if memory is None and limit is not None:
        memory, source, limit = limit, "gpu:memory_limit", None
    if memory is None:
        memory, source = int(physical_memory), "gpu:physical_memory"
    if limit is not None and limit < memory:
        memory, capped = limit, True
    budget = int(GPU_FRACTION * max(memory - model_bytes, 0))
    return KvBudget(max(budget, MIN_BUDGET_BYTES), source, "gpu", memory, model_bytes, GPU_FRACTION, capped)


def physical_memory() -> int:
    try:
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    except (ValueError, OSError, AttributeError):  # pragma: no cover
        return 16 << 30


def current_kv_budget(model_bytes: int, configured: Optional[int] = None) -> KvBudget:
    """size_kv_budget for MLX's default device, as read now."""
    import mlx.core as mx

    dev = mx.default_device()
    device = "gpu" if dev.type == mx.gpu else "cpu"
    info: Mapping[str, Any] = {}
    limit: Optional[int] = None
    if device == "gpu" and not configured:
        try:
            if hasattr(mx, "device_info"):
                info = dict(mx.device_info(dev))
            elif hasattr(mx, "metal") and mx.metal.is_available():  # pragma: no cover - older mlx
                info = dict(mx.metal.device_info())
        except Exception:  # noqa: BLE001 - any failure: fall back to the memory limit
            info = {}
        try:
            limit = int(mx.get_memory_limit())
        except Exception:  # noqa: BLE001
            limit = None
    return size_kv_budget(device=device, info=info, memory_limit=limit, physical_memory=physical_memory(),
                          model_bytes=model_bytes, configured=configured)
