from mlx_runtime.client import RpcFailure  # noqa: F401


def test_second_turn_reuses_session_cache(spawn):
    rt = spawn()
    msgs = [{"role": "system", "content": "You are a patient teacher."},
            {"role": "user", "content": "Tell me about the old mill and the river bank."}]
    r1 = rt.generate(messages=msgs, max_tokens=16, session_id="conv-1")
    assert r1["usage"]["cached_tokens"] == 0
    assert r1["usage"]["prefill_tokens"] == r1["usage"]["prompt_tokens"]
    msgs2 = msgs + [{"role": "assistant", "content": r1["text"]},
                    {"role": "user", "content": "And the lighthouse?"}]
    r2 = rt.generate(messages=msgs2, max_tokens=16, session_id="conv-1")
    u = r2["usage"]
    assert u["cached_tokens"] >= r1["usage"]["prompt_tokens"]
    assert u["prefill_tokens"] == u["prompt_tokens"] - u["cached_tokens"]
    assert u["prefill_tokens"] < u["prompt_tokens"] // 2
    # the cached run gives the same tokens as an uncached run of the same prompt
    fresh = rt.generate(messages=msgs2, max_tokens=16)
    assert fresh["usage"]["cached_tokens"] == 0
    assert fresh["token_ids"] == r2["token_ids"]
    pc = rt.call("stats")["prompt_cache"]
    assert pc["hits"] == 1 and pc["misses"] == 1 and pc["entries"] == 1
    assert pc["tokens_reused"] == u["cached_tokens"]


def test_sessions_are_separate_and_lru_bounded(spawn):
    rt = spawn("--prompt-cache-entries", "2")
    for s in ("a", "b", "c"):
        rt.generate(prompt=f"Session {s} talks about the weather and the harvest.", max_tokens=4, session_id=s)
    st = rt.call("stats")["prompt_cache"]
    assert st["entries"] == 2 and st["evictions"] == 1
    # "a" was evicted (least recently used): a miss, "c" is a hit
    ra = rt.generate(prompt="Session a talks about the weather and the harvest. More.", max_tokens=4, session_id="a")
    rc = rt.generate(prompt="Session c talks about the weather and the harvest. More.", max_tokens=4, session_id="c")
    assert ra["usage"]["cached_tokens"] == 0
    assert rc["usage"]["cached_tokens"] > 0
    # a different session never sees another session's cache
    rd = rt.generate(prompt="Session c talks about the weather and the harvest. More.", max_tokens=4, session_id="d")
    assert rd["usage"]["cached_tokens"] == 0


def test_identical_prompt_same_session_leaves_one_token(spawn):
    rt = spawn()
    p = "The baker opened the wooden box near the market."
    a = rt.generate(prompt=p, max_tokens=6, session_id="s")
    b = rt.generate(prompt=p, max_tokens=6, session_id="s")
    assert b["usage"]["prefill_tokens"] == 1
    assert b["usage"]["cached_tokens"] == b["usage"]["prompt_tokens"] - 1
    assert a["token_ids"] == b["token_ids"]
