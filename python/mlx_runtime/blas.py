"""Optimised BLAS for mlx's CPU backend on Linux.

The Linux `mlx[cpu]` wheel links the netlib *reference* BLAS (libblas.so.3.10),
whose `cblas_sgemm` runs at ~2 GFLOPS on this kind of machine, so batched decode
barely beats single-stream decode. On macOS mlx uses Accelerate/Metal and none of
this applies.

`prepare()` (run by setup.sh) copies the DYNAMIC_ARCH OpenBLAS of the `scipy-openblas32`
wheel into the virtualenv with its `scipy_` symbol prefix removed (mlx_runtime.blas_prepare).
`activate()` (run when mlx_runtime is imported, before `mlx.core`) loads it with
RTLD_GLOBAL: the dynamic linker searches the global scope first, so libmlx's `cblas_sgemm`
binds to OpenBLAS. mlx, mlx-lm and every Python code path are unchanged; only the BLAS
library behind them differs.

A BLAS must never crash the process, whatever the x86-64 CPU. A DYNAMIC_ARCH build picks
kernels the CPU has; the earlier single-target one (cmeel-openblas, SKYLAKEX only, which
ignores OPENBLAS_CORETYPE) died with SIGILL on an AVX2-only EPYC. As a second guard,
`activate()` first runs a probe (`mlx_runtime.blas_probe`): a 256x256 sgemm through mlx
with the library preloaded, in a subprocess. If that process dies (a signal), answers
wrongly or times out, the reference BLAS is kept and the reason is logged once to stderr.
The probe's answer is cached next to the library (`*.probe.json`), keyed by this CPU's
model and flags and the library's hash, so it runs once per machine and library.

MLX_RUNTIME_BLAS=reference keeps the wheel's reference BLAS; MLX_RUNTIME_BLAS=/path/lib.so
loads (after the same probe) another BLAS library exporting the plain cblas/LAPACK names
(benchmarks). MLX_RUNTIME_BLAS_PROBE=fail makes the probe's subprocess die of SIGILL as on
a CPU the library cannot run on (tests of the fallback path; no cache read or written).
"""

from __future__ import annotations

import ctypes
import os
import sys
from pathlib import Path

from . import blas_prepare, blas_probe

_state = {"blas": "platform-default", "path": None}


def _site_packages() -> Path | None:
    for p in sys.path:
        if p.endswith("site-packages") and os.path.isdir(os.path.join(p, "mlx")):
            return Path(p)
    return None


def target_path() -> Path:
    return Path(sys.prefix) / "lib" / "mlx-runtime-blas" / "libopenblas-mlx.so.0"


def prepare() -> str:
    """Create the unprefixed OpenBLAS copy. Returns a one-line status."""
    if not sys.platform.startswith("linux"):
        return "not linux: nothing to do"
    sp = _site_packages()
    if sp is None:
        return "mlx not installed"
    return blas_prepare.prepare(sp, target_path())


def activate() -> str:
    """Load the prepared OpenBLAS into the global symbol scope (idempotent)."""
    if _state["path"] is not None or _state["blas"] != "platform-default":
        return _state["blas"]
    if not sys.platform.startswith("linux"):
        return _state["blas"]
    if "mlx.core" in sys.modules:
        _state["blas"] = "reference (mlx imported before mlx_runtime)"
        return _state["blas"]
    choice = os.environ.get("MLX_RUNTIME_BLAS", "")
    if choice.lower() == "reference":
        _state["blas"] = "reference"
        return _state["blas"]
    path = Path(choice) if choice else target_path()
    if not path.exists():
        _state["blas"] = f"reference ({path} not found)" if choice else "reference (run python/setup.sh to enable openblas)"
        return _state["blas"]
    ok, reason = blas_probe.check(path)
    if not ok:
        _state["blas"] = f"reference (openblas probe failed: {reason})"
        print(f"[mlx_runtime] openblas disabled, using the reference BLAS: probe failed: {reason}",
              file=sys.stderr, flush=True)
        return _state["blas"]
    try:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        _state["blas"] = "openblas" if not choice else f"openblas ({path})"
        _state["path"] = str(path)
    except OSError as e:  # pragma: no cover - depends on the machine
        _state["blas"] = f"reference (openblas failed to load: {e})"
    return _state["blas"]


def status() -> str:
    return _state["blas"]


if __name__ == "__main__":
    if "--prepare" in sys.argv:
        print(prepare())
    else:
        print(activate())
