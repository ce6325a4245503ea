"""Whether MLX uses cuDNN for attention on a CUDA GPU: off in the runtime by default.

MLX's CUDA backend runs `mx.fast.scaled_dot_product_attention` through a cuDNN graph when it can
(`MLX_CUDA_USE_CUDNN_SDPA`, default on), and builds one graph per new shape: batch, query length, key
length, mask shape and strides (mlx/backend/cuda/scaled_dot_product_attention.cpp, an LRU of 256).
A serving batch sees a new shape for almost every prefill (each prompt's length, each cached prefix's
length), so almost every step that carries a prompt pays a graph build. Measured on an H200 with
gpu-1b (`scripts/gpu/insert_probe.py`, `run-phases.sh insert insert-nocudnn`, reports/reference/gpu,
sixth session): the prefill of a prompt of varied length cost 84 ms with cuDNN and 19 ms without; a
300-token turn on a 2,000-token cached prefix 83 ms and 24 ms; a 2,048-token prompt of a repeated
length (its graph cached) 52 and 51 ms. Decode steps use MLX's own kernel either way (mlx-lm's batch
mask rules cuDNN out there).

`MLX_RUNTIME_CUDNN_ATTENTION`:
  `off` (default): the runtime sets MLX_CUDA_USE_CUDNN_SDPA=0 before its first model call;
  `mlx`: MLX's own default (cuDNN where MLX supports it), as mlx_lm.server runs.
A MLX_CUDA_USE_CUDNN_SDPA set by the caller is left as it is (and reported). On a CPU or Metal device
the variable is read by nothing. The baseline (mlx_lm.server) never runs this.
"""

from __future__ import annotations

import os
from typing import MutableMapping, Optional

from . import env_modes

ENV_VAR = "MLX_RUNTIME_CUDNN_ATTENTION"
MLX_VAR = "MLX_CUDA_USE_CUDNN_SDPA"
MODES = ("off", "mlx")


def mode_of(configured: Optional[str]) -> str:
    return env_modes.mode_of(ENV_VAR, MODES, configured)


def apply(environ: Optional[MutableMapping[str, str]] = None) -> dict:
    """Sets MLX_CUDA_USE_CUDNN_SDPA for the mode asked (unless the caller set it); returns what is in
    force, for health. Must run before the process's first attention on the GPU: MLX reads the
    variable once."""
    env = os.environ if environ is None else environ
    mode = mode_of(env.get(ENV_VAR))
    if MLX_VAR in env:
        source = f"{MLX_VAR} as set"
    elif mode == "off":
        env[MLX_VAR] = "0"
        source = f"{ENV_VAR}=off"
    else:
        source = f"{ENV_VAR}=mlx (MLX's default)"
    on = env.get(MLX_VAR, "1").strip() not in ("0", "")
    return {"cudnn_attention": on, "cudnn_attention_source": source}
