import os
import subprocess
import sys

import pytest

from mlx_runtime import cuda_attention
from mlx_runtime.client import RuntimeProcess


def test_modes_and_a_clear_error_for_anything_else():
    assert cuda_attention.mode_of(None) == "off"
    assert cuda_attention.mode_of(" ") == "off"
    assert cuda_attention.mode_of("mlx") == "mlx"
    with pytest.raises(ValueError, match="MLX_RUNTIME_CUDNN_ATTENTION must be one of off, mlx, got 'on'"):
        cuda_attention.mode_of("on")


def test_off_by_default_sets_mlx_variable():
    env = {}
    assert cuda_attention.apply(env) == {"cudnn_attention": False,
                                         "cudnn_attention_source": "MLX_RUNTIME_CUDNN_ATTENTION=off"}
    assert env == {"MLX_CUDA_USE_CUDNN_SDPA": "0"}


def test_mlx_mode_leaves_mlx_default():
    env = {"MLX_RUNTIME_CUDNN_ATTENTION": "mlx"}
    assert cuda_attention.apply(env)["cudnn_attention"] is True
    assert "MLX_CUDA_USE_CUDNN_SDPA" not in env


def test_a_caller_setting_wins_and_is_reported():
    env = {"MLX_CUDA_USE_CUDNN_SDPA": "1"}
    assert cuda_attention.apply(env) == {"cudnn_attention": True,
                                         "cudnn_attention_source": "MLX_CUDA_USE_CUDNN_SDPA as set"}
    assert env["MLX_CUDA_USE_CUDNN_SDPA"] == "1"


def test_the_runtime_reports_it_in_health_and_generates_the_same_tokens(tiny_model_dir, monkeypatch):
    # An engine built in this process earlier (other tests) set MLX's variable here; the runtimes inherit our env.
    monkeypatch.delenv("MLX_CUDA_USE_CUDNN_SDPA", raising=False)
    out = {}
    for mode in ("off", "mlx"):
        with RuntimeProcess("--model", tiny_model_dir, "--name", "tiny",
                            env={"MLX_RUNTIME_CUDNN_ATTENTION": mode}) as rt:
            assert rt.call("health", timeout=120)["cache_limit"]["cudnn_attention"] is (mode == "mlx")
            out[mode] = rt.generate(prompt="The old mill by the river bank", max_tokens=8, temperature=0)["token_ids"]
    assert out["off"] == out["mlx"]


def test_a_bad_mode_stops_the_runtime_with_the_variable_named(tiny_model_dir):
    env = {**os.environ, "MLX_RUNTIME_CUDNN_ATTENTION": "sometimes",
           "PYTHONPATH": os.path.dirname(os.path.dirname(os.path.abspath(cuda_attention.__file__)))}
    env.pop("MLX_CUDA_USE_CUDNN_SDPA", None)
    p = subprocess.run([sys.executable, "-m", "mlx_runtime.server", "--model", tiny_model_dir, "--name", "tiny"],
                       input=b"", capture_output=True, env=env, timeout=120)
    assert p.returncode != 0
    assert b"MLX_RUNTIME_CUDNN_ATTENTION must be one of off, mlx" in p.stderr
