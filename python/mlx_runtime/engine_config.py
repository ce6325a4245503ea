"""The runtime's engine settings (the command line's --scheduler, --max-sequences, ... as one value)
and the defaults of the step planner and its cost prior, each read from its own module."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Optional, Tuple

from .admit_group import AdmitGroupConfig
from .kv_budget import KvBudget, current_kv_budget
from .planned_loop import SCHEDULERS
from .step_cost import StepCostPrior
from .step_planner import StepPlannerConfig

# The step planner's and cost model's defaults, from their own modules (one place each).
_PLANNER = StepPlannerConfig()
_PRIOR = StepCostPrior(base_ms=10.0, per_sequence_ms=1.0, per_kilo_context_ms=1.0, prefill_pass_ms=5.0,
                       per_kilo_prefill_tokens_ms=200.0)  # a small model on a CPU; learned online anyway


@dataclass
class EngineConfig:
    max_sequences: int = 64
    max_kv_bytes: Optional[int] = None  # None: sized from the device's memory (kv_budget.py)
    # Sessions kept (LRU), also bounded by max_kv_bytes. The worker node passes its governor's
    # memory.idleSessionsMax (core/config/defaults.ts, 4096); 64 made 128 users' turns all miss.
    prompt_cache_entries: int = 4096
    prefill_step_size: int = 512
    prefill_batch_size: int = 8
    # batch-generator: one BatchGenerator per context-length bucket (length_buckets.py); () = one batch
    context_buckets: Tuple[int, ...] = ()
    # batch-generator: hold waiting prompts until MIN have gathered or the oldest waited MS (admit_group.py)
    admit_group: AdmitGroupConfig = AdmitGroupConfig()
    default_max_tokens: int = 256
    max_tokens_limit: int = 1 << 20
    enable_fault_injection: bool = False
    # step loop: "batch-generator" (mlx-lm's BatchGenerator, the default until a GPU A/B of the
    # rewritten planner loop says otherwise: reports/reference/gpu/README.md) | "planner" (the
    # runtime's own loop, planned_loop.py, every step planned by step_planner.py)
    scheduler: str = "batch-generator"
    # planner settings and the step cost prior (ms); defaults are step_planner.py's and step_cost.py's
    itl_target_ms: float = _PLANNER.itl_target_ms
    decode_share_max: float = _PLANNER.decode_share_max
    min_chunk_tokens: int = _PLANNER.min_chunk_tokens
    max_chunk_tokens: int = _PLANNER.max_chunk_tokens
    latency_floor_factor: float = _PLANNER.latency_floor_factor
    cost_base_ms: float = _PRIOR.base_ms
    cost_per_sequence_ms: float = _PRIOR.per_sequence_ms
    cost_per_kilo_context_ms: float = _PRIOR.per_kilo_context_ms
    cost_prefill_pass_ms: float = _PRIOR.prefill_pass_ms
    cost_per_kilo_prefill_tokens_ms: float = _PRIOR.per_kilo_prefill_tokens_ms

    def planner_config(self) -> StepPlannerConfig:
        return StepPlannerConfig(itl_target_ms=float(self.itl_target_ms), decode_share_max=float(self.decode_share_max),
                                 max_sequences=int(self.max_sequences), min_chunk_tokens=int(self.min_chunk_tokens),
                                 max_chunk_tokens=int(self.max_chunk_tokens),
                                 latency_floor_factor=float(self.latency_floor_factor))

    def cost_prior(self) -> StepCostPrior:
        return StepCostPrior(base_ms=float(self.cost_base_ms), per_sequence_ms=float(self.cost_per_sequence_ms),
                             per_kilo_context_ms=float(self.cost_per_kilo_context_ms),
                             prefill_pass_ms=float(self.cost_prefill_pass_ms),
                             per_kilo_prefill_tokens_ms=float(self.cost_per_kilo_prefill_tokens_ms))

    def validate(self) -> None:
        if self.scheduler not in SCHEDULERS:
            raise ValueError(f"scheduler must be one of {', '.join(SCHEDULERS)}, got {self.scheduler!r}")
        if self.context_buckets and self.scheduler != "batch-generator":
            raise ValueError("context buckets apply to the batch-generator scheduler only")
        self.admit_group.validate()
        if not self.admit_group.at_once and self.scheduler != "batch-generator":
            raise ValueError("admit groups apply to the batch-generator scheduler only")
        self.planner_config().validate()
        for k, v in self.cost_prior().__dict__.items():
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"cost prior {k} must be a finite number >= 0, got {v}")

    def describe(self) -> dict:
        out: dict = {"scheduler": self.scheduler, "max_sequences": self.max_sequences}
        if self.scheduler == "planner":
            out["planner"] = {k: v for k, v in self.planner_config().__dict__.items() if k != "max_sequences"}
            out["cost_prior"] = {k: v for k, v in self.cost_prior().__dict__.items()}
        else:
            out["batch_generator"] = {"prefill_step_size": self.prefill_step_size,
                                      "prefill_batch_size": self.prefill_batch_size,
                                      "context_buckets": list(self.context_buckets),
                                      "admit_group": {"min_group": self.admit_group.min_group,
                                                      "max_wait_ms": self.admit_group.max_wait_ms}}
        return out

    def kv_budget(self, model_bytes: int = 0) -> KvBudget:
        """max_kv_bytes as configured, else sized from the default device's memory less the weights."""
        return current_kv_budget(model_bytes, configured=int(self.max_kv_bytes) if self.max_kv_bytes else None)
