"""Context-length buckets (length_buckets.LengthBucketedLoop, --context-buckets) through the real engine
path, in process with the tiny model: the same greedy tokens as one batch, each sequence in its bucket
with globally unique uids, less padding than one batch, the session prompt cache across buckets, the
KV accounting per bucket, and the flag refused when malformed."""

from __future__ import annotations

import subprocess
import sys

import pytest

import json
from pathlib import Path

from mlx_runtime.length_buckets import LengthBucketedLoop, bucket_of, parse_bounds
from test_planned_loop import PROMPTS, gen, ids, make_engine, results, run, run_all


def test_parse_bounds():
    assert parse_bounds(None) == () and parse_bounds("") == () and parse_bounds(" ") == ()
    assert parse_bounds("2048") == (2048,)
    assert parse_bounds("256,1024") == (256, 1024)
    for bad in ("0", "-5", "1024,256", "512,512", "abc", "1.5"):
        with pytest.raises(ValueError, match="increasing positive integers"):
            parse_bounds(bad)


def test_same_answers_as_core():
    """tests/data/context_bucket_cases.json, generated from core/scheduling/context-buckets.ts."""
    table = json.loads((Path(__file__).parent / "data" / "context_bucket_cases.json").read_text())
    assert len(table["parse"]) >= 15 and len(table["bucket"]) >= 40
    for case in table["parse"]:
        if case["edges"] is None:
            with pytest.raises(ValueError, match="increasing positive integers"):
                parse_bounds(case["text"])
        else:
            assert list(parse_bounds(case["text"])) == case["edges"], case
    for case in table["bucket"]:
        assert bucket_of(case["edges"], case["promptTokens"]) == case["bucket"], case


def test_same_greedy_tokens_as_one_batch(tiny_model_dir):
    ref = run_all(tiny_model_dir, "batch-generator")
    assert run_all(tiny_model_dir, "batch-generator", context_buckets=(64, 256)) == ref


def test_each_sequence_decodes_in_its_bucket_with_less_padding(tiny_model_dir):
    def padded_and_real(eng):
        loops = getattr(eng.models["tiny"].sched, "loops", None) or [eng.models["tiny"].sched]
        padded = real = 0
        for loop in loops:
            gb = loop.bg._generation_batch
            if len(gb):
                padded += len(gb) * int(gb.prompt_cache[0]._idx)
                real += sum(len(t) for t in gb.tokens)
        return padded, real

    seen = {}
    for buckets in ((), (64,)):
        eng, out = make_engine(tiny_model_dir, scheduler="batch-generator", context_buckets=buckets)
        for rid, p in (("s1", ids(10, 1)), ("s2", ids(12, 2)), ("s3", ids(14, 3)), ("long", ids(400, 4))):
            gen(eng, rid, p, 64)
        for _ in range(12):  # every prompt prefilled, all four decoding
            eng.step()
        sched = eng.models["tiny"].sched
        assert sched.counts()[0] == 4
        seen[buckets] = padded_and_real(eng)
        if buckets:
            assert isinstance(sched, LengthBucketedLoop)
            assert sched.describe() == {"scheduler": "batch-generator", "context_buckets": [64], "bucket_sequences": [3, 1]}
            uids = [r.uid for r in eng.requests.values()]
            assert len(set(uids)) == 4 and {u >> 40 for u in uids} == {0, 1}
        run(eng)
        assert set(results(out)) == {"s1", "s2", "s3", "long"}
    (p1, r1), (p2, r2) = seen[()], seen[(64,)]
    assert r1 == r2  # the same tokens held
    assert p1 >= 4 * 400 and p2 < p1 / 2  # one batch pads the three short ones to ~400 positions each


def test_session_cache_and_cancel_across_buckets(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, scheduler="batch-generator", context_buckets=(32,))
    gen(eng, "t1", ids(20, 7), 8, session_id="s")
    run(eng)
    first = results(out)["t1"]
    # the follow-up is longer than the bound: it decodes in the other bucket, from the cached prefix
    follow = ids(20, 7) + first["token_ids"] + ids(30, 8)
    gen(eng, "t2", follow, 8, session_id="s")
    gen(eng, "gone", ids(200, 9), 50)
    for _ in range(3):
        eng.step()
    eng.cancel("gone")
    run(eng)
    res = results(out)
    assert res["t2"]["usage"]["cached_tokens"] >= 20 and res["gone"]["finish_reason"] == "cancelled"
    assert eng.models["tiny"].sched.counts() == (0, 0, 0)


def test_kv_reserved_per_bucket(tiny_model_dir):
    one, _ = make_engine(tiny_model_dir, scheduler="batch-generator")
    two, _ = make_engine(tiny_model_dir, scheduler="batch-generator", context_buckets=(64,))
    for eng in (one, two):
        gen(eng, "short", ids(10, 1), 10)
        gen(eng, "long", ids(300, 2), 10)
    bpt = one.models["tiny"].kv_bytes_per_token
    assert one._kv_reserved() == 2 * 310 * bpt * 2  # both padded to the longest
    assert two._kv_reserved() == (20 + 310) * bpt * 2  # each alone in its bucket
    for eng in (one, two):
        run(eng)


def test_the_flag_and_its_environment_variable(monkeypatch):
    from mlx_runtime.server import engine_config, parse_args

    assert engine_config(parse_args(["--context-buckets", "1024,4096"])).context_buckets == (1024, 4096)
    monkeypatch.setenv("MLX_RUNTIME_CONTEXT_BUCKETS", "2048")
    assert engine_config(parse_args([])).context_buckets == (2048,)
    monkeypatch.delenv("MLX_RUNTIME_CONTEXT_BUCKETS")
    assert engine_config(parse_args([])).context_buckets == ()
    with pytest.raises(SystemExit):
        parse_args(["--scheduler", "planner", "--context-buckets", "64"])


def test_malformed_flag_is_refused_by_the_runtime(tiny_model_dir):
    p = subprocess.run([sys.executable, "-m", "mlx_runtime.server", "--model", tiny_model_dir, "--context-buckets", "512,128"],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 2 and "increasing positive integers" in p.stderr
