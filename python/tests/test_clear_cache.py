import os
import subprocess
import sys

import mlx.core as mx
import pytest

from mlx_runtime import clear_cache
from mlx_runtime.client import RuntimeProcess


def test_modes_and_a_clear_error_for_anything_else():
    assert clear_cache.mode_of(None) == "mlx-lm"
    assert clear_cache.mode_of("  ") == "mlx-lm"
    assert clear_cache.mode_of("off") == "off"
    with pytest.raises(ValueError, match="MLX_RUNTIME_PREFILL_CLEAR_CACHE must be one of mlx-lm, off, got 'never'"):
        clear_cache.mode_of("never")


def test_off_changes_only_mlx_lm_generate_view_of_mx():
    gen = sys.modules["mlx_lm.generate"] if "mlx_lm.generate" in sys.modules else None
    try:
        assert clear_cache.apply({"MLX_RUNTIME_PREFILL_CLEAR_CACHE": "off"}) == {"prefill_clear_cache": "off"}
        gen = sys.modules["mlx_lm.generate"]
        a = mx.ones((4,))
        mx.eval(a)
        del a
        cached = mx.get_cache_memory()
        gen.mx.clear_cache()  # a no-op for mlx-lm
        assert mx.get_cache_memory() == cached
        assert gen.mx.array is mx.array and gen.mx.eval is mx.eval
        assert mx.clear_cache is not gen.mx.clear_cache  # the process's own mx is untouched
    finally:
        clear_cache.apply({})
    assert gen.mx is mx


def test_the_runtime_reports_the_mode_and_generates_the_same_tokens(tiny_model_dir):
    out = {}
    for mode in ("mlx-lm", "off"):
        with RuntimeProcess("--model", tiny_model_dir, "--name", "tiny", "--prefill-step-size", "16",
                            env={"MLX_RUNTIME_PREFILL_CLEAR_CACHE": mode}) as rt:
            assert rt.call("health", timeout=120)["cache_limit"]["prefill_clear_cache"] == mode
            out[mode] = rt.generate(prompt="The old mill by the river bank " * 6, max_tokens=12, temperature=0)["token_ids"]
    assert out["off"] == out["mlx-lm"]


def test_a_bad_mode_stops_the_runtime_with_the_variable_named(tiny_model_dir):
    env = {**os.environ, "MLX_RUNTIME_PREFILL_CLEAR_CACHE": "sometimes",
           "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(clear_cache.__file__)))}
    p = subprocess.run([sys.executable, "-m", "mlx_runtime.server", "--model", tiny_model_dir, "--name", "tiny"],
                       input=b"", capture_output=True, env=env, timeout=120)
    assert p.returncode != 0
    assert b"MLX_RUNTIME_PREFILL_CLEAR_CACHE must be one of mlx-lm, off" in p.stderr
