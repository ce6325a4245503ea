"""The Python step planner and cost model against the conformance table generated from core/
(core/scheduling/conformance.ts; `npm run gen:conformance`)."""

import json
from pathlib import Path

import pytest

from mlx_runtime.step_cost import StepCostModel, StepCostOptions, StepCostPrior
from mlx_runtime.step_planner import PrefillingSeq, StepPlannerConfig, WaitingSeq, plan_step

CASES = json.loads((Path(__file__).parent / "data" / "step_planner_cases.json").read_text())["cases"]


def _config(c: dict) -> StepPlannerConfig:
    return StepPlannerConfig(itl_target_ms=c["itlTargetMs"], decode_share_max=c["decodeShareMax"],
                             max_sequences=c["maxSequences"], min_chunk_tokens=c["minChunkTokens"],
                             max_chunk_tokens=c["maxChunkTokens"], latency_floor_factor=c["latencyFloorFactor"])


def test_table_is_not_empty():
    assert len(CASES) >= 10 and sum(len(c["plans"]) for c in CASES) >= 60


@pytest.mark.parametrize("case", CASES, ids=[c["name"] for c in CASES])
def test_same_fit_and_same_plans_as_core(case):
    p = case["prior"]
    cost = StepCostModel(
        StepCostPrior(p["baseMs"], p["perSequenceMs"], p["perKiloContextMs"], p["prefillPassMs"], p["perKiloPrefillTokensMs"]),
        StepCostOptions(case["options"]["forgetting"], case["options"]["priorVariance"]))
    for b, ctx, pf, ms in case["observations"]:
        cost.observe(b, ctx, pf, ms)
    assert cost.theta == case["thetaAfter"]  # bit for bit: the same operations in the same order
    cfg = _config(case["config"])
    cfg.validate()
    for entry in case["plans"]:
        s, want = entry["state"], entry["plan"]
        got = plan_step(cfg, cost, s["decoding"], s["decodeContextTokens"],
                        [PrefillingSeq(x["leftTokens"], x["promptTokens"]) for x in s["prefilling"]],
                        [WaitingSeq(x["prefillTokens"], x["promptTokens"]) for x in s["waiting"]])
        assert (got.admit, got.chunks, got.prefill_tokens, got.token_budget) == \
            (want["admit"], want["chunks"], want["prefillTokens"], want["tokenBudget"])
        assert got.predicted_ms == want["predictedMs"]


def test_config_validation_names_the_field():
    with pytest.raises(ValueError, match="min_chunk_tokens"):
        StepPlannerConfig(min_chunk_tokens=4096, max_chunk_tokens=2048).validate()
    with pytest.raises(ValueError, match="decode_share_max"):
        StepPlannerConfig(decode_share_max=1.5).validate()
