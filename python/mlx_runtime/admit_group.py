"""When waiting prompts are handed to mlx-lm's BatchGenerator: at once, or held until a group gathers.

The port of core/scheduling/admit-group.ts (the reasons are there), kept equal to it by the conformance
table tests/data/admit_group_cases.json (`npm run gen:conformance`; tests/test_admit_group.py).
Configured by --admit-group MIN:MS / MLX_RUNTIME_ADMIT_GROUP (default 1:0, mlx-lm's behaviour).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Optional

ENV_VAR = "MLX_RUNTIME_ADMIT_GROUP"


@dataclass(frozen=True)
class AdmitGroupConfig:
    min_group: int = 1
    max_wait_ms: float = 0.0

    def validate(self) -> None:
        if not isinstance(self.min_group, int) or self.min_group < 1:
            raise ValueError(f"admit group size must be an integer >= 1, got {self.min_group}")
        if not math.isfinite(self.max_wait_ms) or self.max_wait_ms < 0:
            raise ValueError(f"admit group wait must be a number of ms >= 0, got {self.max_wait_ms}")

    @property
    def at_once(self) -> bool:
        return self.min_group <= 1


def admit_now(cfg: AdmitGroupConfig, waiting: int, oldest_wait_ms: float, busy: int, free_slots: int) -> int:
    """How many waiting prompts to hand over now: 0 (hold) or all that fit."""
    fit = min(waiting, free_slots)
    if fit <= 0:
        return 0
    if busy == 0 or waiting >= min(cfg.min_group, free_slots):
        return fit
    return fit if oldest_wait_ms >= cfg.max_wait_ms else 0


_ADMIT_GROUP = re.compile(r"\s*([0-9]+)\s*(?::\s*([0-9]+(?:\.[0-9]+)?)\s*)?", re.ASCII)


def parse_admit_group(text: Optional[str]) -> AdmitGroupConfig:
    """'4:200' -> gather 4 prompts, hold one at most 200 ms; '4' -> 4:0; '' or None -> at once.
    The port of core's parseAdmitGroup (tests/data/admit_group_cases.json `parse`)."""
    if text is None or not text.strip():
        return AdmitGroupConfig()
    m = _ADMIT_GROUP.fullmatch(text)
    if m is None:
        raise ValueError(f"admit group must be SIZE:MS like 4:200, got {text!r}")
    cfg = AdmitGroupConfig(int(m.group(1)), float(m.group(2)) if m.group(2) is not None else 0.0)
    cfg.validate()
    return cfg
