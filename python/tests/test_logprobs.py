"""`generate` with `logprobs` / `top_logprobs` (issue 17): through the runtime process, against the
log-softmax of the model's logits computed directly with mlx."""

import time

import mlx.core as mx
import pytest

from mlx_runtime.logprobs import TokenPieces, token_logprobs

PROMPT = "The captain counted the lanterns in the harbour"
TOL = 2e-3  # the runtime's batched pass vs one forward pass over the whole sequence (float32)


def reference_logprobs(tiny_lm, prompt_ids, out_ids):
    """log_softmax of the logits that predicted each output token (one pass over prompt + output)."""
    model, _ = tiny_lm
    logits = model(mx.array([prompt_ids + out_ids[:-1]]))[0].astype(mx.float32)
    lp = logits - mx.logsumexp(logits, axis=-1, keepdims=True)
    return lp[len(prompt_ids) - 1:]  # (len(out_ids), vocab)


def check_against_reference(tiny_lm, res, top):
    tok = tiny_lm[1]
    prompt_ids = tok.encode(PROMPT)
    out = res["token_ids"]
    lps = res["logprobs"]
    assert len(lps) == len(out) > 0
    ref = reference_logprobs(tiny_lm, prompt_ids, out)
    for i, (t, e) in enumerate(zip(out, lps)):
        assert e["token_id"] == t
        assert abs(e["logprob"] - ref[i, t].item()) < TOL
        assert e["logprob"] <= 0
        tops = e["top_logprobs"]
        assert len(tops) == top
        vals = [c["logprob"] for c in tops]
        assert vals == sorted(vals, reverse=True)
        if top > 0:
            # greedy: the chosen token is the most likely one, first in the list
            assert tops[0]["token_id"] == t
            assert abs(tops[0]["logprob"] - e["logprob"]) < 1e-6
            want = sorted(ref[i].tolist(), reverse=True)[:top]
            assert all(abs(a - b) < TOL for a, b in zip(vals, want))
    # each token's bytes are exact: together they decode to the text (no special tokens here)
    assert bytes(b for e in lps for b in e["bytes"]).decode("utf-8") == res["text"]


@pytest.mark.parametrize("top", [0, 5, 20])
def test_logprobs_match_log_softmax_batch_generator(server, tiny_lm, top):
    rid = f"lp-bg-{top}"
    res = server.generate(prompt=PROMPT, max_tokens=10, temperature=0, logprobs=True, top_logprobs=top, request_id=rid)
    check_against_reference(tiny_lm, res, top)
    # the notifications carry them too, one per token id, in order
    stream = server.stream_of(rid)
    assert [e for n in stream for e in n["logprobs"]] == res["logprobs"]
    assert all(len(n["logprobs"]) == len(n["token_ids"]) for n in stream)


def test_logprobs_planner_loop(spawn, tiny_lm):
    """The planner's first token comes from its own prefill pass, not mlx-lm's decode step."""
    rt = spawn("--scheduler", "planner")
    res = rt.generate(prompt=PROMPT, max_tokens=8, temperature=0, logprobs=True, top_logprobs=3, request_id="lp-pl")
    check_against_reference(tiny_lm, res, 3)


def test_batched_requests_each_get_what_they_asked(server, tiny_lm):
    """Requests in one decode batch: one without logprobs, two with different top counts."""
    ids = {"lp-b0": {}, "lp-b1": {"logprobs": True}, "lp-b2": {"logprobs": True, "top_logprobs": 4}}
    rpc = {rid: server.start_generate(prompt=PROMPT, max_tokens=12, temperature=0, request_id=rid, **p)
           for rid, p in ids.items()}
    res = {rid: server.wait(r)["result"] for rid, r in rpc.items()}
    assert "logprobs" not in res["lp-b0"]
    assert res["lp-b1"]["token_ids"] == res["lp-b2"]["token_ids"] == res["lp-b0"]["token_ids"]
    assert all(e["top_logprobs"] == [] for e in res["lp-b1"]["logprobs"])
    check_against_reference(tiny_lm, res["lp-b2"], 4)
    for a, b in zip(res["lp-b1"]["logprobs"], res["lp-b2"]["logprobs"]):
        assert abs(a["logprob"] - b["logprob"]) < 1e-5


def test_logprobs_with_sampling_and_without(server, tiny_lm):
    res = server.generate(prompt=PROMPT, max_tokens=6, temperature=0.9, seed=3, logprobs=True, top_logprobs=2)
    assert len(res["logprobs"]) == len(res["token_ids"])
    assert all(len(e["top_logprobs"]) == 2 and e["top_logprobs"][0]["logprob"] >= e["logprob"] for e in res["logprobs"])
    plain = server.generate(prompt=PROMPT, max_tokens=4, request_id="lp-none")
    assert "logprobs" not in plain
    assert all("logprobs" not in n for n in server.stream_of("lp-none"))


@pytest.mark.parametrize("params,field", [
    ({"logprobs": "yes"}, "logprobs"),
    ({"logprobs": True, "top_logprobs": 21}, "top_logprobs"),
    ({"logprobs": True, "top_logprobs": -1}, "top_logprobs"),
    ({"logprobs": True, "top_logprobs": 1.5}, "top_logprobs"),
    ({"top_logprobs": 3}, "top_logprobs"),
])
def test_invalid_logprobs_params(server, params, field):
    err = server.call_raw("generate", {"prompt": "hi", **params})["error"]
    assert err["code"] == -32602 and err["data"]["field"] == field


def test_token_logprobs_piece(tiny_lm):
    """The batched helper on its own: rows with different top counts, and its cost."""
    model, tok = tiny_lm
    pieces = TokenPieces(tok)
    logits = model(mx.array([tok.encode(PROMPT)]))[0, -3:].astype(mx.float32)
    rows = list(logits - mx.logsumexp(logits, axis=-1, keepdims=True))
    tokens = [int(mx.argmax(r).item()) for r in rows]
    out = token_logprobs(rows, tokens, [0, 4, 1], [pieces] * 3)
    assert [len(o["top_logprobs"]) for o in out] == [0, 4, 1]
    for r, t, o in zip(rows, tokens, out):
        assert abs(o["logprob"] - r[t].item()) < 1e-6
    assert out[1]["top_logprobs"][0]["token_id"] == tokens[1]
    text, b = pieces.get(tokens[0])
    assert bytes(b).decode("utf-8", errors="replace") == text


def test_impossible_tokens_get_a_finite_logprob(tiny_lm):
    """-inf (a masked token) is not JSON: it is sent as -9999.0, as OpenAI does."""
    pieces = TokenPieces(tiny_lm[1])
    row = mx.array([0.0, -float("inf"), -float("inf")])
    out = token_logprobs([row], [1], [3], [pieces])
    assert out[0]["logprob"] == -9999.0
    assert [c["logprob"] for c in out[0]["top_logprobs"]] == [0.0, -9999.0, -9999.0]


def test_top_logprobs_cost_is_reported(tiny_lm, capsys):
    """Not an assertion on speed: prints the per-token cost of top_logprobs at this vocabulary, for the record."""
    model, tok = tiny_lm
    pieces = TokenPieces(tok)
    logits = model(mx.array([tok.encode(PROMPT)]))[0, -1:].astype(mx.float32)
    row = (logits - mx.logsumexp(logits, axis=-1, keepdims=True))[0]
    rows = [row] * 16
    toks = [int(mx.argmax(row).item())] * 16
    for top in (0, 20):
        token_logprobs(rows, toks, [top] * 16, [pieces] * 16)  # warm
        t0 = time.perf_counter()
        for _ in range(20):
            token_logprobs(rows, toks, [top] * 16, [pieces] * 16)
        us = (time.perf_counter() - t0) / 20 / 16 * 1e6
        with capsys.disabled():
            print(f"\n[logprobs] vocab {row.shape[0]}, batch 16, top_logprobs={top}: {us:.1f} us per token")
