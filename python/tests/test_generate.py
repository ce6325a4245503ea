"""Generation through the real runtime process vs mlx_lm directly (greedy)."""

import threading

from mlx_lm import stream_generate

from mlx_runtime.client import wait_until

PROMPTS = [
    "Once upon a time",
    "The captain counted the lanterns in the harbour",
    "Water boils at",
    "Have you seen the silver compass?",
]


def reference(tiny_lm, prompt, max_tokens):
    model, tok = tiny_lm
    toks, text = [], ""
    for r in stream_generate(model, tok, prompt, max_tokens=max_tokens):
        if r.finish_reason == "stop":
            break
        toks.append(r.token)
        text += r.text
    return toks, text


def test_stream_matches_mlx_lm(server, tiny_lm):
    res = server.generate(prompt=PROMPTS[0], max_tokens=24, request_id="match-1")
    ref_tokens, ref_text = reference(tiny_lm, PROMPTS[0], 24)
    assert res["token_ids"] == ref_tokens
    assert res["text"] == ref_text
    stream = server.stream_of("match-1")
    assert [t for n in stream for t in n["token_ids"]] == ref_tokens
    assert "".join(n["text"] for n in stream) == ref_text
    assert stream[-1]["completion_tokens"] == 24
    assert all(n["id"] is not None and n["prompt_tokens"] == res["usage"]["prompt_tokens"] for n in stream)
    assert res["finish_reason"] == "length"
    u = res["usage"]
    assert u["completion_tokens"] == 24 and u["prompt_tokens"] == len(tiny_lm[1].encode(PROMPTS[0]))
    assert u["total_tokens"] == u["prompt_tokens"] + 24
    t = res["timings"]
    for k in ("queue_ms", "prefill_ms", "decode_ms", "ttft_ms", "total_ms"):
        assert t[k] >= 0
    assert t["total_ms"] >= t["decode_ms"]


def test_chat_messages_use_template(server, tiny_lm):
    model, tok = tiny_lm
    msgs = [{"role": "system", "content": "You are brief."}, {"role": "user", "content": "Tell me about bridges."}]
    res = server.generate(messages=msgs, max_tokens=12, request_id="chat-1")
    prompt_ids = tok.encode(tok.apply_chat_template(msgs, add_generation_prompt=True, tokenize=False), add_special_tokens=False)
    assert res["usage"]["prompt_tokens"] == len(prompt_ids)
    ref, _ = reference(tiny_lm, prompt_ids, 12)
    assert res["token_ids"] == ref


def test_token_id_prompt(server, tiny_lm):
    ids = tiny_lm[1].encode("The bell rang")
    res = server.generate(prompt=ids, max_tokens=8)
    assert res["token_ids"] == reference(tiny_lm, ids, 8)[0]
    assert res["request_id"].startswith("auto-")


def test_concurrent_requests_get_their_own_tokens(server, tiny_lm):
    """Several requests multiplexed on one pipe, batched together: each gets exactly
    the tokens it gets alone (greedy)."""
    lengths = [30, 18, 25, 12]
    alone = {i: reference(tiny_lm, p, n)[0] for i, (p, n) in enumerate(zip(PROMPTS, lengths))}
    ids = {}
    for i, (p, n) in enumerate(zip(PROMPTS, lengths)):
        ids[i] = server.start_generate(prompt=p, max_tokens=n, request_id=f"conc-{i}")
    max_batch = [0]
    stop = threading.Event()

    def poll():
        while not stop.is_set():
            try:
                max_batch[0] = max(max_batch[0], server.call("stats", timeout=30)["batch_size"])
            except Exception:
                return

    th = threading.Thread(target=poll, daemon=True)
    th.start()
    results = {i: server.wait(rid, timeout=120) for i, rid in ids.items()}
    stop.set()
    th.join(timeout=30)
    for i, msg in results.items():
        r = msg["result"]
        assert r["request_id"] == f"conc-{i}"
        assert r["token_ids"] == alone[i], f"request {i} differs from its solo run"
        assert [t for n in server.stream_of(f"conc-{i}") for t in n["token_ids"]] == alone[i]
    assert max_batch[0] >= 2, "requests were never batched together"


def test_late_joiner_joins_running_batch(server, tiny_lm):
    first = server.start_generate(prompt=PROMPTS[1], max_tokens=60, request_id="long-1")
    assert wait_until(lambda: len(server.stream_of("long-1")) >= 5, timeout=60)
    second = server.generate(prompt=PROMPTS[2], max_tokens=10, request_id="late-1")
    # the late request finished while the long one was still running
    assert len(server.stream_of("long-1")) < 60
    assert second["token_ids"] == reference(tiny_lm, PROMPTS[2], 10)[0]
    r1 = server.wait(first, timeout=120)["result"]
    assert r1["token_ids"] == reference(tiny_lm, PROMPTS[1], 60)[0]


def test_sampling_seed_is_reproducible(server):
    kw = dict(prompt="In the morning", max_tokens=20, temperature=0.9, top_p=0.95)
    a = server.generate(seed=7, **kw)
    b = server.generate(seed=7, **kw)
    c = server.generate(seed=8, **kw)
    assert a["token_ids"] == b["token_ids"]
    assert a["token_ids"] != c["token_ids"]
    # same seed inside a batch with other work gives the same tokens
    other = server.start_generate(prompt="The river", max_tokens=30, temperature=0.7, seed=1)
    d = server.generate(seed=7, **kw)
    server.wait(other)
    assert d["token_ids"] == a["token_ids"]


def test_stop_strings(server, tiny_lm):
    full = server.generate(prompt=PROMPTS[0], max_tokens=30)["text"]
    assert len(full) > 12
    stop = full[8:12]
    res = server.generate(prompt=PROMPTS[0], max_tokens=30, stop=["\x00never", stop], request_id="stop-1")
    assert res["finish_reason"] == "stop"
    assert res["stop_sequence"] == stop  # which stop string ended it (Anthropic's stop_sequence)
    assert res["text"] == full[: full.index(stop)]
    assert "".join(n["text"] for n in server.stream_of("stop-1")) == res["text"]
    assert res["usage"]["completion_tokens"] < 30


def test_non_streaming(server):
    res = server.generate(prompt="The bell", max_tokens=5, stream=False, request_id="nostream-1")
    assert res["usage"]["completion_tokens"] == 5
    assert server.stream_of("nostream-1") == []


def test_long_prompt_prefilled_in_chunks_matches_mlx_lm(server, tiny_lm):
    prompt = " ".join(PROMPTS) * 40  # well over one 512-token prefill chunk
    n_prompt = len(tiny_lm[1].encode(prompt))
    assert n_prompt > 1000
    res = server.generate(prompt=prompt, max_tokens=12, session_id="long-prompt")
    assert res["usage"]["prompt_tokens"] == n_prompt
    assert res["token_ids"] == reference(tiny_lm, prompt, 12)[0]
    follow = prompt + " And then the bell rang."
    r2 = server.generate(prompt=follow, max_tokens=12, session_id="long-prompt")
    assert r2["usage"]["cached_tokens"] >= n_prompt - 1
    assert r2["token_ids"] == reference(tiny_lm, follow, 12)[0]
