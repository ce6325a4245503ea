"""The python package (pyproject.toml) against the development pins (requirements.txt), and its entry
points: `pip install python/` must install what python/setup.sh installs, and the commands it puts on
PATH must name functions that exist (issue 22)."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

PYTHON_DIR = Path(__file__).resolve().parent.parent
DEV_ONLY = {"pytest"}


def _requirement_lines() -> list[str]:
    lines = (PYTHON_DIR / "requirements.txt").read_text().splitlines()
    reqs = [line.split("#")[0].strip() for line in lines]
    return [r for r in reqs if r and r.split("==")[0].split("[")[0].strip() not in DEV_ONLY]


def _normalise(req: str) -> str:
    return "".join(req.split()).replace("'", '"')


def test_dependencies_are_the_pinned_requirements() -> None:
    project = tomllib.loads((PYTHON_DIR / "pyproject.toml").read_text())["project"]
    assert sorted(map(_normalise, project["dependencies"])) == sorted(map(_normalise, _requirement_lines()))
    assert all("==" in d for d in project["dependencies"]), "every dependency is pinned"


def test_entry_points_resolve() -> None:
    scripts = tomllib.loads((PYTHON_DIR / "pyproject.toml").read_text())["project"]["scripts"]
    assert "mlx-serving-runtime" in scripts
    for target in scripts.values():
        module, func = target.split(":")
        assert callable(getattr(importlib.import_module(module), func)), target
