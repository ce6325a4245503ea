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


def test_an_entry_holds_its_own_kv_not_the_batch_it_came_from():
    # mlx-lm extracts a finished sequence lazily from the padded batch; an entry kept lazy pins the batch.
    import gc

    import mlx.core as mx
    from mlx_lm.models.cache import KVCache

    from mlx_runtime.prompt_cache import SessionPromptCache

    mx.clear_cache()
    base = mx.get_active_memory()
    batch = mx.ones((64, 8, 4096, 64), dtype=mx.bfloat16)
    mx.eval(batch)
    c = KVCache()
    c.keys = mx.contiguous(batch[3:4, :, 10:100])
    c.values = mx.contiguous(batch[4:5, :, 10:100])
    c.offset = 90
    pc = SessionPromptCache(4)
    pc.put("s", list(range(90)), [c])
    del batch, c
    gc.collect()
    held = mx.get_active_memory() - base
    assert held <= 4 * pc.nbytes, f"{held} bytes live for an entry of {pc.nbytes}"


def test_finished_sessions_leave_only_their_own_kv_alive(spawn):
    # Through the runtime: sequences of different lengths share one padded batch; when all have finished,
    # the live arrays beyond the model are the prompt cache's entries, not copies of that batch.
    rt = spawn("--prompt-cache-entries", "16")
    ids = []
    for i in range(8):
        words = " ".join(["harvest", "river", "mill", "lantern"][j % 4] for j in range(40 + 120 * i))
        ids.append(rt.start_generate(prompt=f"Session {i}: {words}", max_tokens=24, session_id=f"s{i}"))
    for rpc_id in ids:
        assert "result" in rt.wait(rpc_id, timeout=120)
    st = rt.call("stats")
    extra = st["memory"]["active_bytes"] - st["model_bytes"]
    assert st["prompt_cache"]["entries"] == 8
    assert extra <= 2 * st["prompt_cache_bytes"] + (1 << 20), (extra, st["prompt_cache_bytes"])
