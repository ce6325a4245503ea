"""mlx-serving's MLX runtime: JSON-RPC over stdio, continuous batching, prompt cache.

Importing this package first loads an optimised BLAS for mlx's CPU backend on
Linux (see mlx_runtime.blas); it must therefore be imported before mlx.core.
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")

from . import blas as _blas  # noqa: E402

BLAS = _blas.activate()

__all__ = ["BLAS"]
