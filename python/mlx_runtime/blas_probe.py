"""Does the prepared OpenBLAS run on this CPU? A sgemm through mlx in a subprocess.

A single-target OpenBLAS (cmeel-openblas is built for SKYLAKEX only) kills the process
with SIGILL on a CPU without AVX-512, so it is tried in a child first: the child loads
the library into the global scope, as `blas.activate()` does, imports mlx.core and
checks two 256x256 matmuls. The answer is cached in `<library>.probe.json`, keyed by
the CPU (model name and flags from /proc/cpuinfo) and the library's sha256.

MLX_RUNTIME_BLAS_PROBE=fail makes the child die of SIGILL before it computes anything
(what such a CPU does), without reading or writing the cache.
"""

from __future__ import annotations

import hashlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

TIMEOUT_S = 60.0

_CHILD = r"""
import ctypes, os, resource, signal, sys
resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash here leaves no core file
if os.environ.get("MLX_RUNTIME_BLAS_PROBE") == "fail":
    os.kill(os.getpid(), signal.SIGILL)
ctypes.CDLL(sys.argv[1], mode=ctypes.RTLD_GLOBAL)
import mlx.core as mx
a = mx.ones((256, 256))
b = mx.arange(256 * 256, dtype=mx.float32).reshape(256, 256) / 65536.0
ones, prod = a @ a, a @ b
mx.eval(ones, prod)
want = mx.broadcast_to(mx.sum(b, axis=0, keepdims=True), prod.shape)
ok = bool(mx.all(ones == 256.0).item()) and bool(mx.allclose(prod, want, rtol=1e-4, atol=1e-3).item())
print("ok" if ok else "wrong result", flush=True)
"""


def cpu_id() -> str:
    """The CPU's model name and flags lines (what decides which instructions exist)."""
    try:
        lines = Path("/proc/cpuinfo").read_text().splitlines()
    except OSError:
        return "unknown cpu"
    keep = [l for l in lines if l.startswith(("model name", "flags", "Features", "CPU part"))]
    return "\n".join(dict.fromkeys(keep))  # the first core's lines; the others repeat them


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def cache_path(lib: Path) -> Path:
    return lib.with_name(lib.name + ".probe.json")


def run_probe(lib: Path, timeout_s: float = TIMEOUT_S) -> tuple[bool, str]:
    """Runs the child; (True, "ok") or (False, why)."""
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    try:
        r = subprocess.run([sys.executable, "-c", _CHILD, str(lib)], env=env, capture_output=True,
                           text=True, timeout=timeout_s)
    except subprocess.TimeoutExpired:
        return False, f"no answer within {timeout_s:.0f} s"
    if r.returncode < 0:
        try:
            name = signal.Signals(-r.returncode).name
        except ValueError:
            name = f"signal {-r.returncode}"
        return False, f"sgemm subprocess killed by {name}"
    out = r.stdout.strip()
    if r.returncode != 0 or out != "ok":
        tail = (r.stderr.strip().splitlines() or [""])[-1]
        return False, f"sgemm subprocess exited {r.returncode}: {out or tail}"[:300]
    return True, "ok"


def check(lib: Path) -> tuple[bool, str]:
    """The cached answer for this CPU and library, probing (and caching) when there is none."""
    if os.environ.get("MLX_RUNTIME_BLAS_PROBE", "").lower() == "fail":
        return run_probe(lib)
    key = hashlib.sha256(f"{cpu_id()}\n{_sha256(lib)}".encode()).hexdigest()
    cache = cache_path(lib)
    try:
        saved = json.loads(cache.read_text())
        if saved.get("key") == key:
            return bool(saved["ok"]), str(saved["reason"])
    except (OSError, ValueError, KeyError):
        pass
    ok, reason = run_probe(lib)
    if ok or not reason.startswith("no answer"):  # a timeout may be a busy machine: ask again next time
        tmp = cache.with_name(f"{cache.name}.{os.getpid()}.tmp")
        try:
            tmp.write_text(json.dumps({"key": key, "ok": ok, "reason": reason, "at": time.time()}))
            os.replace(tmp, cache)
        except OSError:
            pass
    return ok, reason
