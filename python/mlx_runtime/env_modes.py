"""One rule for the runtime's mode variables (MLX_RUNTIME_PREFILL_CLEAR_CACHE, MLX_RUNTIME_CUDNN_ATTENTION):
blank or unset is the first mode; anything not listed stops the runtime with the variable named."""

from __future__ import annotations

from typing import Optional, Sequence


def mode_of(var: str, modes: Sequence[str], configured: Optional[str]) -> str:
    m = (configured or "").strip() or modes[0]
    if m not in modes:
        raise ValueError(f"{var} must be one of {', '.join(modes)}, got {configured!r}")
    return m
