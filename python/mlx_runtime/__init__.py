"""mlx-serving's MLX runtime: JSON-RPC over stdio, continuous batching, prompt cache.

Importing this package first loads an optimised BLAS for mlx's CPU backend on
Linux (see mlx_runtime.blas); it must therefore be imported before mlx.core.
"""

import os as _os

_os.environ.setdefault("HF_HUB_OFFLINE", "1")
_os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
_os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
_os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")
# One OpenBLAS thread by default: OpenBLAS worker threads spin while waiting, and on a
# small, shared CPU (2 cores here) oversubscription makes multi-threaded GEMM collapse.
# Set OPENBLAS_NUM_THREADS to override.
_os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from . import blas as _blas  # noqa: E402

BLAS = _blas.activate()

__all__ = ["BLAS"]
