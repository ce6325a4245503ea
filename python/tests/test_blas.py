"""The BLAS choice through the real import path, in fresh processes: the probe's failure path
(MLX_RUNTIME_BLAS_PROBE=fail: its sgemm subprocess dies of SIGILL, as on a CPU without AVX-512)
falls back to the reference BLAS, logs it once, and the runtime reports it in health and stats."""

import json
import os
import subprocess
import sys
from pathlib import Path

from mlx_runtime import blas, blas_probe
from mlx_runtime.client import RuntimeProcess

PYTHON_DIR = Path(__file__).resolve().parent.parent
MATMUL = ("import mlx_runtime, mlx.core as mx; c = mx.ones((256, 256)) @ mx.ones((256, 256)); mx.eval(c); "
          "print(mlx_runtime.BLAS); print(float(c[0, 0]))")


def _python(code: str, **env: str) -> subprocess.CompletedProcess:
    full = dict(os.environ, PYTHONPATH=str(PYTHON_DIR), **env)
    full.pop("MLX_RUNTIME_BLAS", None)
    return subprocess.run([sys.executable, "-c", code], env=full, capture_output=True, text=True,
                          cwd=str(PYTHON_DIR), timeout=120)


def test_forced_probe_failure_falls_back_to_reference_and_logs_once():
    r = _python(MATMUL, MLX_RUNTIME_BLAS_PROBE="fail")
    assert r.returncode == 0, r.stderr
    status, value = r.stdout.strip().rsplit("\n", 1)
    assert status == "reference (openblas probe failed: sgemm subprocess killed by SIGILL)"
    assert value == "256.0"
    assert r.stderr.count("openblas disabled") == 1, r.stderr
    assert "killed by SIGILL" in r.stderr


def test_default_path_follows_the_probe_and_caches_it():
    lib = blas.target_path()
    assert lib.exists(), "python/setup.sh prepares the OpenBLAS copy"
    ok, reason = blas_probe.run_probe(lib)
    r = _python(MATMUL)
    assert r.returncode == 0, r.stderr
    status, value = r.stdout.strip().rsplit("\n", 1)
    assert value == "256.0"
    assert status == ("openblas" if ok else f"reference (openblas probe failed: {reason})")
    saved = json.loads(blas_probe.cache_path(lib).read_text())
    assert (saved["ok"], saved["reason"]) == (ok, reason)


def test_runtime_reports_the_fallback_in_health_and_stats(tiny_model_dir):
    rt = RuntimeProcess("--model", tiny_model_dir, "--name", "tiny", env={"MLX_RUNTIME_BLAS_PROBE": "fail"},
                        stderr=open(os.devnull, "wb"))
    try:
        want = "reference (openblas probe failed: sgemm subprocess killed by SIGILL)"
        assert rt.call("health", timeout=120)["blas"] == want
        assert rt.call("stats", timeout=30)["blas"] == want
        res = rt.generate(prompt="hello", max_tokens=4, request_id="blas-1")
        assert res["usage"]["completion_tokens"] == 4, res
    finally:
        rt.stop()


def test_prepared_openblas_is_dynamic_arch_with_plain_names():
    """setup.sh's copy picks kernels at run time (no SIGILL on a CPU without AVX-512) and exports the
    names libmlx binds (cblas_sgemm, sgetrf_), its scipy_ prefix removed."""
    code = ("import ctypes, sys; l = ctypes.CDLL(sys.argv[1]); l.openblas_get_config.restype = ctypes.c_char_p; "
            "print(l.openblas_get_config().decode()); print(bool(l.cblas_sgemm) and bool(l.sgetrf_))")
    r = subprocess.run([sys.executable, "-c", code, str(blas.target_path())], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    config, plain = r.stdout.strip().split("\n")
    assert "DYNAMIC_ARCH" in config
    assert plain == "True"
