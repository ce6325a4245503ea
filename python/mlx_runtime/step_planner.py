"""The step planner: a line-by-line port of core/scheduling/step-planner.ts (read its header for the
policy: stall-free token budget from the ITL target, FCFS chunks, a batch as large as the latency
target allows, the last chunk yields the first token). Pure; the engine loop (engine.py) applies it.
The conformance table generated from core/ (python/tests/data/step_planner_cases.json) keeps the two
equal."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List, Sequence

from .step_cost import StepCostModel


@dataclass(frozen=True)
class StepPlannerConfig:
    itl_target_ms: float = 100.0
    decode_share_max: float = 0.8
    max_sequences: int = 128
    min_chunk_tokens: int = 32
    max_chunk_tokens: int = 2048
    latency_floor_factor: float = 2.0

    def validate(self) -> None:
        def pos(k: str, v, integer: bool) -> None:
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or v <= 0 or \
                    (integer and int(v) != v):
                raise ValueError(f"step planner: {k} must be a {'positive integer' if integer else 'number > 0'}, got {v}")
        pos("itl_target_ms", self.itl_target_ms, False)
        pos("decode_share_max", self.decode_share_max, False)
        if self.decode_share_max > 1:
            raise ValueError(f"step planner: decode_share_max must be in (0, 1], got {self.decode_share_max}")
        pos("max_sequences", self.max_sequences, True)
        pos("min_chunk_tokens", self.min_chunk_tokens, True)
        pos("max_chunk_tokens", self.max_chunk_tokens, True)
        pos("latency_floor_factor", self.latency_floor_factor, False)
        if self.min_chunk_tokens > self.max_chunk_tokens:
            raise ValueError(f"step planner: min_chunk_tokens ({self.min_chunk_tokens}) must be <= "
                             f"max_chunk_tokens ({self.max_chunk_tokens})")


@dataclass(frozen=True)
class PrefillingSeq:
    left_tokens: int
    prompt_tokens: int


@dataclass(frozen=True)
class WaitingSeq:
    prefill_tokens: int
    prompt_tokens: int


@dataclass(frozen=True)
class StepPlan:
    admit: int
    chunks: List[int]
    prefill_tokens: int
    token_budget: int
    predicted_ms: float


def effective_target_ms(cfg: StepPlannerConfig, cost: StepCostModel) -> float:
    floor = cfg.latency_floor_factor * cost.decode_ms(1, 0)
    return floor if floor > cfg.itl_target_ms else cfg.itl_target_ms


def token_budget(cfg: StepPlannerConfig, cost: StepCostModel, decoding: int, decode_context_tokens: int) -> int:
    if decoding == 0:
        return cfg.max_chunk_tokens
    spare_ms = effective_target_ms(cfg, cost) - cost.decode_ms(decoding, decode_context_tokens) - cost.prefill_pass_ms()
    t = math.floor(spare_ms / cost.ms_per_prefill_token())
    return cfg.min_chunk_tokens if t < cfg.min_chunk_tokens else cfg.max_chunk_tokens if t > cfg.max_chunk_tokens else int(t)


def plan_step(cfg: StepPlannerConfig, cost: StepCostModel, decoding: int, decode_context_tokens: int,
              prefilling: Sequence[PrefillingSeq], waiting: Sequence[WaitingSeq]) -> StepPlan:
    budget = token_budget(cfg, cost, decoding, decode_context_tokens)
    chunks: List[int] = []
    left = budget
    batch = decoding
    context = decode_context_tokens
    for p in prefilling:
        c = p.left_tokens if p.left_tokens < left else left
        chunks.append(c)
        left -= c
        batch += 1
        context += p.prompt_tokens
    decode_max_ms = cfg.decode_share_max * effective_target_ms(cfg, cost)
    admit = 0
    for w in waiting:
        if left <= 0 or batch >= cfg.max_sequences:
            break
        if batch > 0 and cost.decode_ms(batch + 1, context + w.prompt_tokens) > decode_max_ms:
            break
        c = w.prefill_tokens if w.prefill_tokens < left else left
        chunks.append(c)
        left -= c
        batch += 1
        context += w.prompt_tokens
        admit += 1
    prefill_tokens = budget - left
    return StepPlan(admit, chunks, prefill_tokens, budget,
                    cost.predict_ms(decoding, decode_context_tokens, prefill_tokens))
