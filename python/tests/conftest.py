import os
from pathlib import Path

import pytest

import mlx_runtime  # noqa: F401  (BLAS activation before mlx.core)
from mlx_runtime.build_model import ensure_built
from mlx_runtime.client import RuntimeProcess

PYTHON_DIR = Path(__file__).resolve().parent.parent
CACHE_DIR = PYTHON_DIR / ".cache" / "models"


@pytest.fixture(scope="session")
def tiny_model_dir() -> str:
    """The tiny model, built once (cached under python/.cache, rebuilt when the builder changes)."""
    return str(ensure_built("tiny", CACHE_DIR / "tiny"))


@pytest.fixture(scope="session")
def tiny_lm(tiny_model_dir):
    from mlx_lm import load

    return load(tiny_model_dir)


@pytest.fixture(scope="session")
def server(tiny_model_dir):
    """One shared runtime process for tests that don't need special flags."""
    rt = RuntimeProcess("--model", tiny_model_dir, "--name", "tiny", "--enable-fault-injection",
                        stderr=open(os.devnull, "wb"))
    rt.call("health", timeout=120)
    yield rt
    rt.stop()


@pytest.fixture
def spawn(tiny_model_dir):
    """Start a dedicated runtime with extra flags: spawn('--max-sequences', '2')."""
    procs = []

    def _spawn(*args, model=True):
        base = ["--model", tiny_model_dir, "--name", "tiny"] if model else []
        rt = RuntimeProcess(*base, *args, stderr=open(os.devnull, "wb"))
        procs.append(rt)
        rt.call("health", timeout=120)
        return rt

    yield _spawn
    for rt in procs:
        rt.stop()
