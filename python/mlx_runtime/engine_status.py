"""The engine's `stats` and `health` answers: counters, batch and KV figures, the scheduler, the device."""

from __future__ import annotations

import os
import time
from typing import TYPE_CHECKING

import mlx.core as mx
import mlx_lm

from . import blas
from .log import ms

if TYPE_CHECKING:
    from .engine import Engine


def stats(self: Engine) -> dict:
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
        "uptime_ms": ms(time.perf_counter() - self.started_at),
    }


def health(self: Engine) -> dict:
    return {
        "status": "draining" if self.shutting_down else "ok",
        "models": list(self.models),
        "active_sequences": self.active_sequences(),
        "uptime_ms": ms(time.perf_counter() - self.started_at),
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
