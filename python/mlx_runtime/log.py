"""The runtime's log line (stderr, prefixed) and its millisecond rounding for results and logs."""

from __future__ import annotations

import sys
from typing import Any


def log(*args: Any) -> None:
    print("[mlx_runtime]", *args, file=sys.stderr, flush=True)


def ms(seconds: float) -> float:
    return round(seconds * 1000.0, 3)
