"""A learned cost model of one runtime step: a line-by-line port of core/scheduling/step-cost.ts.

    step_ms ~ t0 + t1*B + t2*ctx/1024 + t3*[P > 0] + t4*P/1024

fitted by recursive least squares with a forgetting factor, from a prior. The arithmetic follows the
TypeScript in the same order, so both give the same floats; the conformance table
(python/tests/data/step_planner_cases.json, generated from core/) checks it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import List

FEATURES = 5
MIN_MS = 0.01
MIN_MS_PER_KILO_TOKEN = 0.01
TRACE_MAX = 1e9


@dataclass(frozen=True)
class StepCostPrior:
    base_ms: float
    per_sequence_ms: float
    per_kilo_context_ms: float
    prefill_pass_ms: float
    per_kilo_prefill_tokens_ms: float


@dataclass(frozen=True)
class StepCostOptions:
    forgetting: float = 0.995
    prior_variance: float = 100.0


def features(batch: int, context_tokens: int, prefill_tokens: int) -> List[float]:
    return [1.0, float(batch), context_tokens / 1024, 1.0 if prefill_tokens > 0 else 0.0, prefill_tokens / 1024]


class StepCostModel:
    def __init__(self, prior: StepCostPrior, opts: StepCostOptions = StepCostOptions()):
        for k, v in prior.__dict__.items():
            if not math.isfinite(v) or v < 0:
                raise ValueError(f"step cost prior: {k} must be a finite number >= 0, got {v}")
        if not (0 < opts.forgetting <= 1):
            raise ValueError(f"step cost: forgetting must be in (0, 1], got {opts.forgetting}")
        if not opts.prior_variance > 0:
            raise ValueError(f"step cost: prior_variance must be > 0, got {opts.prior_variance}")
        self.theta = [float(prior.base_ms), float(prior.per_sequence_ms), float(prior.per_kilo_context_ms),
                      float(prior.prefill_pass_ms), float(prior.per_kilo_prefill_tokens_ms)]
        self.opts = opts
        self.p = [0.0] * (FEATURES * FEATURES)
        self._reset_covariance()
        self.observations = 0

    def _reset_covariance(self) -> None:
        for i in range(FEATURES):
            for j in range(FEATURES):
                self.p[i * FEATURES + j] = float(self.opts.prior_variance) if i == j else 0.0

    def predict_ms(self, batch: int, context_tokens: int, prefill_tokens: int) -> float:
        x = features(batch, context_tokens, prefill_tokens)
        y = 0.0
        for i in range(FEATURES):
            y += self.theta[i] * x[i]
        return y if y > MIN_MS else MIN_MS

    def decode_ms(self, batch: int, context_tokens: int) -> float:
        return self.predict_ms(batch, context_tokens, 0)

    def prefill_pass_ms(self) -> float:
        v = self.theta[3]
        return v if v > 0 else 0.0

    def ms_per_prefill_token(self) -> float:
        v = self.theta[4]
        return (v if v > MIN_MS_PER_KILO_TOKEN else MIN_MS_PER_KILO_TOKEN) / 1024

    def observe(self, batch: int, context_tokens: int, prefill_tokens: int, measured_ms: float) -> None:
        if not math.isfinite(measured_ms) or measured_ms < 0:
            return
        x = features(batch, context_tokens, prefill_tokens)
        n = FEATURES
        p = self.p
        px = [0.0] * n
        for i in range(n):
            s = 0.0
            for j in range(n):
                s += p[i * n + j] * x[j]
            px[i] = s
        denom = self.opts.forgetting
        for i in range(n):
            denom += x[i] * px[i]
        predicted = 0.0
        for i in range(n):
            predicted += self.theta[i] * x[i]
        err = measured_ms - predicted
        for i in range(n):
            self.theta[i] = self.theta[i] + (px[i] / denom) * err
        trace = 0.0
        for i in range(n):
            for j in range(n):
                p[i * n + j] = (p[i * n + j] - (px[i] * px[j]) / denom) / self.opts.forgetting
            trace += p[i * n + i]
        if not trace < TRACE_MAX:
            self._reset_covariance()
        self.observations += 1

    def describe(self) -> dict:
        return {"theta": list(self.theta), "observations": self.observations}
