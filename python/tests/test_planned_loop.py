"""The planner step loop (scheduler "planner", planned_loop.PlannedLoop) through the real engine path,
in process with the tiny model: same greedy tokens as mlx-lm's BatchGenerator path, chunked prefill
within the planned budget while others decode, joiners without an extra forward pass, cancellation
in every state, the session prompt cache, the cost model learning online."""

from __future__ import annotations

import time

import pytest

from mlx_runtime.engine import Engine, EngineConfig
from mlx_runtime.planned_loop import PlannedLoop


class Counting:
    """The model, counting forward passes (every call of the model object)."""

    def __init__(self, model):
        self._m = model
        self.calls = 0

    def __call__(self, *a, **kw):
        self.calls += 1
        return self._m(*a, **kw)

    def __getattr__(self, k):
        return getattr(self._m, k)


def make_engine(model_dir, **cfg):
    out = []
    cfg.setdefault("scheduler", "planner")
    eng = Engine(EngineConfig(**cfg), out.append)
    eng.load_model(model_dir, "tiny")
    return eng, out


def results(out):
    return {m["result"]["request_id"]: m["result"] for m in out if "result" in m}


def errors(out):
    return {m["error"]["data"]["request_id"]: m["error"] for m in out if "error" in m}


def run(eng, limit=100000):
    n = 0
    while eng.has_work():
        eng.step()
        n += 1
        assert n < limit
    return n


def gen(eng, rid, prompt, max_tokens, **kw):
    eng.generate(rid, {"prompt": prompt, "max_tokens": max_tokens, "request_id": rid, **kw}, time.perf_counter())


def ids(n, offset=0):
    # deterministic token ids of the tiny model's vocabulary (avoiding the special ids < 16)
    return [16 + ((i * 37 + offset * 11) % 1100) for i in range(n)]


PROMPTS = {"a": ids(5, 1), "b": ids(40, 2), "c": ids(130, 3), "d": ids(300, 4), "e": ids(900, 5)}


def run_all(model_dir, scheduler, max_tokens=24, **cfg):
    eng, out = make_engine(model_dir, scheduler=scheduler, **cfg)
    for rid, p in PROMPTS.items():
        gen(eng, rid, p, max_tokens)
    run(eng)
    res = results(out)
    assert set(res) == set(PROMPTS)
    return {rid: r["token_ids"] for rid, r in res.items()}


def test_planner_matches_batch_generator_greedy(tiny_model_dir):
    ref = run_all(tiny_model_dir, "batch-generator")
    # default budget (whole prompts in one pass) and a small one (every long prompt in several chunks)
    for cfg in ({}, {"max_chunk_tokens": 64, "min_chunk_tokens": 16}):
        got = run_all(tiny_model_dir, "planner", **cfg)
        for rid in PROMPTS:
            assert len(got[rid]) == 24
            assert got[rid] == ref[rid], (rid, cfg)


def test_long_prompt_chunked_within_budget_while_decoding(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, max_chunk_tokens=64, min_chunk_tokens=16)
    lm = eng.models["tiny"]
    loop = lm.sched
    assert isinstance(loop, PlannedLoop)
    loop.trace = []
    gen(eng, "short", ids(8), 200)
    for _ in range(3):
        eng.step()
    assert loop.counts() == (1, 0, 0)
    gen(eng, "long", ids(700, 9), 4)
    tokens_before = len(eng.requests["short"].token_ids)
    uid_long = eng.requests["long"].uid
    loop.trace.clear()
    while "long" in eng.requests and eng.requests["long"].first_token_at is None:
        eng.step()
    chunks = [(plan, b, c) for plan, b, ctx, done in loop.trace for u, c in done if u == uid_long]
    assert sum(c for _, _, c in chunks) == 700
    assert len(chunks) >= 700 // 64
    for plan, b, c in chunks:
        assert 0 < c <= plan.token_budget <= 64
        assert b == 1  # the short sequence decoded in every step of the long prefill
    # and it produced a token in (nearly) every one of those steps
    assert len(eng.requests["short"].token_ids) - tokens_before >= len(chunks) - 1
    run(eng)
    res = results(out)
    assert res["long"]["usage"]["prefill_tokens"] == 700 and len(res["long"]["token_ids"]) == 4
    assert len(res["short"]["token_ids"]) == 200


@pytest.mark.parametrize("scheduler,extra", [("planner", 0), ("batch-generator", 1)])
def test_joiners_take_no_extra_forward_pass(tiny_model_dir, scheduler, extra):
    eng, out = make_engine(tiny_model_dir, scheduler=scheduler)
    lm = eng.models["tiny"]
    lm.model = Counting(lm.model)
    lm.sched = lm.make_scheduler()
    n = 10
    gen(eng, "x", ids(20), n)
    run(eng)
    # planner: 1 prefill pass (its last position samples token 1) + n decode passes (mlx-lm's pipelined
    # decode computes one token ahead, so the last pass's token is dropped); BatchGenerator: one more
    # pass, its joiners' separate first decode of the last prompt token
    assert lm.model.calls == 1 + n + extra
    assert len(results(out)["x"]["token_ids"]) == n
    # two joiners in the same step: one batched (right-padded) prefill pass for both, then shared decode
    # passes; BatchGenerator: the same + the joiners' extra pass
    lm.model.calls = 0
    gen(eng, "y", ids(20, 1), n)
    gen(eng, "z", ids(30, 2), n)
    run(eng)
    assert lm.model.calls == 1 + n + extra


def test_chunks_of_different_lengths_batched_over_several_steps(tiny_model_dir):
    # budget 64 a step, FCFS: prompts of different lengths share steps with different chunk sizes;
    # some finish their prompt (join the decode batch, first token from their last real position)
    # while others in the same forward pass continue next step from their own cache
    prompts = {"p3": ids(3, 6), "p40": ids(40, 7), "p70": ids(70, 8), "p100": ids(100, 9),
               "p150": ids(150, 10), "p33": ids(33, 11), "p64": ids(64, 12)}
    ref_eng, ref_out = make_engine(tiny_model_dir, scheduler="batch-generator")
    for rid, p in prompts.items():
        gen(ref_eng, rid, p, 12)
    run(ref_eng)
    ref = {rid: r["token_ids"] for rid, r in results(ref_out).items()}

    eng, out = make_engine(tiny_model_dir, max_chunk_tokens=64, min_chunk_tokens=16)
    lm = eng.models["tiny"]
    lm.model = Counting(lm.model)
    lm.sched = lm.make_scheduler()
    lm.sched.trace = []
    for rid, p in prompts.items():
        gen(eng, rid, p, 12)
    gen(eng, "sampled", ids(50, 13), 12, temperature=0.8, seed=7)
    decode_passes = 0
    while eng.has_work():
        before = lm.model.calls
        had_decode = len(lm.sched.decode) > 0
        eng.step()
        decode_passes += had_decode
        chunks = lm.sched.trace[-1][3]
        # every step: at most one decode pass and one prefill pass, whatever the number of chunks
        assert lm.model.calls - before == had_decode + (1 if chunks else 0)
    res = results(out)
    for rid in prompts:
        assert res[rid]["token_ids"] == ref[rid], rid
    assert len(res["sampled"]["token_ids"]) == 12
    multi = [done for _, _, _, done in lm.sched.trace if len(done) > 1]
    assert multi and any(len({c for _, c in done}) > 1 for done in multi)  # several chunks, different sizes
    assert sum(c for _, _, _, done in lm.sched.trace for _, c in done) == sum(map(len, prompts.values())) + 50


def test_cancel_waiting_prefilling_decoding(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, max_chunk_tokens=64, min_chunk_tokens=16)
    loop = eng.models["tiny"].sched
    gen(eng, "dec", ids(8), 500)
    for _ in range(3):
        eng.step()
    gen(eng, "pre", ids(600, 1), 8)
    gen(eng, "wait", ids(600, 2), 8)
    eng.step()
    assert loop.counts() == (1, 1, 1)  # the budget went to "pre"; "wait" stays in the FIFO
    assert eng.cancel("wait")["cancelled"]
    assert loop.counts() == (1, 1, 0)
    eng.step()
    assert eng.cancel("pre")["cancelled"]
    assert loop.counts() == (1, 0, 0)
    eng.step()
    assert eng.cancel("dec")["cancelled"]
    assert loop.counts() == (0, 0, 0)
    assert not eng.has_work()
    res = results(out)
    assert {r["finish_reason"] for r in res.values()} == {"cancelled"} and len(res) == 3
    assert res["pre"]["token_ids"] == [] and res["wait"]["token_ids"] == []
    assert len(res["dec"]["token_ids"]) >= 4
    assert eng.stats()["kv_bytes_in_use"] == 0
    # the loop still works afterwards
    gen(eng, "after", ids(10), 5)
    run(eng)
    assert len(results(out)["after"]["token_ids"]) == 5


def test_session_cache_hit_while_another_decodes(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir)
    p = ids(120, 3)
    gen(eng, "s1", p, 6, session_id="conv")
    run(eng)
    r1 = results(out)["s1"]
    gen(eng, "other", ids(10), 40)
    for _ in range(3):
        eng.step()
    p2 = p + r1["token_ids"] + ids(30, 4)
    gen(eng, "s2", p2, 12, session_id="conv")
    assert eng.requests["s2"].cached_tokens == 120 + 6 - 1 or eng.requests["s2"].cached_tokens >= 120
    run(eng)
    r2 = results(out)["s2"]
    assert r2["usage"]["cached_tokens"] >= 120
    gen(eng, "fresh", p2, 12)
    run(eng)
    assert results(out)["fresh"]["token_ids"] == r2["token_ids"]
    assert eng.prompt_cache.stats()["hits"] == 1


def test_cost_model_learns_and_stats_report_it(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, itl_target_ms=50)
    s0 = eng.stats()
    assert s0["scheduler"]["scheduler"] == "planner"
    assert s0["scheduler"]["planner"] == {"itl_target_ms": 50, "decode_share_max": 0.8,
                                          "min_chunk_tokens": 32, "max_chunk_tokens": 2048,
                                          "latency_floor_factor": 2.0}
    m0 = s0["models"][0]
    assert m0["cost_model"]["observations"] == 0
    gen(eng, "a", ids(50), 20)
    gen(eng, "b", ids(70, 1), 20)
    run(eng)
    m1 = eng.stats()["models"][0]
    assert m1["cost_model"]["observations"] >= 20
    assert set(m1["cost_model"]["coefficients"]) == {"base_ms", "per_sequence_ms", "per_kilo_context_ms",
                                                     "prefill_pass_ms", "per_kilo_prefill_tokens_ms"}
    assert m1["last_plan"]["measured_ms"] > 0 and m1["prefill_tokens"] == 120
    h = eng.health()["scheduler"]
    assert h["scheduler"] == "planner" and h["models"]["tiny"]["cost_model"]["observations"] >= 20


def test_batch_step_failure_fails_every_request_of_the_model(tiny_model_dir):
    eng, out = make_engine(tiny_model_dir, max_chunk_tokens=64, min_chunk_tokens=16)
    gen(eng, "d", ids(8), 100)
    for _ in range(3):
        eng.step()
    gen(eng, "p", ids(300, 1), 8)
    eng.step()
    lm = eng.models["tiny"]
    real = lm.sched.model
    armed = [True]

    def boom(*a, **kw):
        if armed[0]:
            armed[0] = False
            raise RuntimeError("device lost")
        return real(*a, **kw)

    lm.sched.model = boom  # the next prefill chunk fails
    eng.step()
    errs = errors(out)
    assert set(errs) == {"d", "p"} and "device lost" in errs["d"]["message"]
    assert not eng.has_work() and lm.sched.counts() == (0, 0, 0)
    lm.sched.model = real
    lm.sched.reset()
    gen(eng, "ok", ids(8), 5)
    run(eng)
    assert len(results(out)["ok"]["token_ids"]) == 5


def test_server_flags(spawn):
    rt = spawn("--scheduler", "batch-generator")
    h = rt.call("health")
    assert h["scheduler"]["scheduler"] == "batch-generator"
    r = rt.generate(prompt="Once upon a time", max_tokens=5)
    assert len(r["token_ids"]) == 5
    rt2 = spawn("--scheduler", "planner", "--itl-target-ms", "40", "--max-chunk-tokens", "256", "--cost-base-ms", "3")
    s = rt2.call("stats")
    assert s["scheduler"]["planner"]["itl_target_ms"] == 40
    assert s["scheduler"]["planner"]["max_chunk_tokens"] == 256
    assert s["scheduler"]["cost_prior"]["base_ms"] == 3
    assert s["models"][0]["batch_size"] == 0 and s["models"][0]["waiting"] == 0
