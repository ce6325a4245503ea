"""Whether mlx-lm's BatchGenerator empties MLX's buffer cache after every prefill chunk.

mlx-lm's generate.py calls `mx.clear_cache()` after each prefill chunk of `prefill_step_size` tokens
(and every 512 decode steps). On Apple silicon that is cheap. On a CUDA GPU every buffer freed that way
goes back through `cudaFreeAsync`, and the next chunk's activations are allocated anew; on an H200 a
prefill pass of any length cost 70–87 ms and the runtime's ITL p50 was 2–3x mlx_lm.server's, whose
chunks are 4x larger (reports/reference/gpu/README.md). `scripts/gpu/prefill_chunk_probe.py` measures it.

`MLX_RUNTIME_PREFILL_CLEAR_CACHE`:
  `mlx-lm` (default): leave mlx-lm's calls as they are, as mlx_lm.server runs them;
  `off`: mlx-lm's calls do nothing in this process. MLX's cache stays bounded by its cache limit
         (cache_limit.py), which releases buffers as it fills.
Only mlx_lm.generate's view of `mx` changes (a proxy module); the runtime's own calls are untouched.
The baseline (mlx_lm.server) never runs this.
"""

from __future__ import annotations

import os
import types
from typing import Mapping, Optional

from . import env_modes

ENV_VAR = "MLX_RUNTIME_PREFILL_CLEAR_CACHE"
MODES = ("mlx-lm", "off")


def mode_of(configured: Optional[str]) -> str:
    return env_modes.mode_of(ENV_VAR, MODES, configured)


class _NoClearMx(types.ModuleType):
    """mlx.core with clear_cache a no-op; every other name is mlx.core's."""

    def __init__(self, mx: types.ModuleType):
        super().__init__("mlx.core")
        self._mx = mx

    def __getattr__(self, name: str):
        return getattr(self._mx, name)

    @staticmethod
    def clear_cache() -> None:
        return None


def apply(environ: Optional[Mapping[str, str]] = None) -> dict:
    """Sets mlx_lm.generate's `mx` for the mode the environment asks for; returns it (for health)."""
    import sys

    import mlx.core as mx
    import mlx_lm.generate  # noqa: F401  (the module; `mlx_lm.generate` the attribute is a function)

    gen = sys.modules["mlx_lm.generate"]
    env = os.environ if environ is None else environ
    mode = mode_of(env.get(ENV_VAR))
    gen.mx = mx if mode == "mlx-lm" else _NoClearMx(mx)
    return {"prefill_clear_cache": mode}
