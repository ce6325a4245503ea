"""The Python admit group against the conformance table generated from core/
(core/scheduling/admit-group-cases.ts; `npm run gen:conformance`), and its parsing."""

import json
from pathlib import Path

import pytest

from mlx_runtime.admit_group import AdmitGroupConfig, admit_now, parse_admit_group

TABLE = json.loads((Path(__file__).parent / "data" / "admit_group_cases.json").read_text())
CASES = TABLE["cases"]


def test_same_answers_as_core():
    assert len(CASES) >= 100
    for case in CASES:
        c, s = case["config"], case["state"]
        cfg = AdmitGroupConfig(c["minGroup"], c["maxWaitMs"])
        assert admit_now(cfg, s["waiting"], s["oldestWaitMs"], s["busy"], s["freeSlots"]) == case["admit"], case


def test_parse_as_core():
    assert parse_admit_group(None).at_once
    assert len(TABLE["parse"]) >= 10
    for case in TABLE["parse"]:
        want = case["config"]
        if want is None:
            with pytest.raises(ValueError, match="admit group"):
                parse_admit_group(case["text"])
        else:
            assert parse_admit_group(case["text"]) == AdmitGroupConfig(want["minGroup"], want["maxWaitMs"]), case


# ---- through the real engine, in process with the tiny model ----

import subprocess  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402

from test_planned_loop import gen, ids, make_engine, results, run, run_all  # noqa: E402


def waiting(eng):
    return eng.models["tiny"].sched.counts()[2]


def test_same_greedy_tokens_as_at_once(tiny_model_dir):
    ref = run_all(tiny_model_dir, "batch-generator")
    assert run_all(tiny_model_dir, "batch-generator", admit_group=AdmitGroupConfig(3, 20.0)) == ref
    assert run_all(tiny_model_dir, "batch-generator", admit_group=AdmitGroupConfig(2, 20.0), context_buckets=(64,)) == ref


def test_prompts_held_while_decoding_until_the_group_is_full(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, scheduler="batch-generator", admit_group=AdmitGroupConfig(3, 1e9))
    gen(eng, "first", ids(8, 1), 200)  # an idle generator takes it at once
    eng.step()
    eng.step()
    assert waiting(eng) == 0 and eng.models["tiny"].sched.counts()[0] == 1
    gen(eng, "b", ids(9, 2), 4)
    gen(eng, "c", ids(10, 3), 4)
    for _ in range(4):
        eng.step()
        assert waiting(eng) == 2  # held: 2 of a group of 3
    gen(eng, "d", ids(11, 4), 4)
    eng.step()
    assert waiting(eng) == 0  # the group joins in one step
    assert eng.models["tiny"].sched.describe()["admit_group"] == {"min_group": 3, "max_wait_ms": 1e9}
    run(eng)
    assert {"b", "c", "d"} <= set(results(out))


def test_a_held_prompt_joins_after_the_longest_wait(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, scheduler="batch-generator", admit_group=AdmitGroupConfig(8, 30.0))
    gen(eng, "first", ids(8, 1), 400)
    eng.step()
    eng.step()
    gen(eng, "late", ids(9, 2), 4)
    eng.step()
    assert waiting(eng) == 1
    time.sleep(0.04)
    eng.step()
    assert waiting(eng) == 0
    run(eng)
    assert set(results(out)) == {"first", "late"}


def test_the_flag_and_its_environment_variable(monkeypatch, tiny_model_dir):
    from mlx_runtime.server import engine_config, parse_args

    assert engine_config(parse_args(["--admit-group", "4:200"])).admit_group == AdmitGroupConfig(4, 200.0)
    monkeypatch.setenv("MLX_RUNTIME_ADMIT_GROUP", "2:50")
    assert engine_config(parse_args([])).admit_group == AdmitGroupConfig(2, 50.0)
    monkeypatch.delenv("MLX_RUNTIME_ADMIT_GROUP")
    assert engine_config(parse_args([])).admit_group.at_once
    with pytest.raises(SystemExit):  # "admit groups apply to the batch-generator scheduler only"
        parse_args(["--scheduler", "planner", "--admit-group", "4:10"])
    p = subprocess.run([sys.executable, "-m", "mlx_runtime.server", "--model", tiny_model_dir, "--admit-group", "0:5"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "admit group size" in p.stderr
