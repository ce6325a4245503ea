from mlx_runtime.client import RpcFailure, wait_until
from mlx_runtime import errors


def test_cancel_stops_generation(server):
    rid = server.start_generate(prompt="Once upon a time", max_tokens=4000, request_id="cancel-me")
    assert wait_until(lambda: len(server.stream_of("cancel-me")) >= 3, timeout=60)
    assert server.call("cancel", {"request_id": "cancel-me"}) == {"request_id": "cancel-me", "cancelled": True}
    res = server.wait(rid, timeout=30)["result"]
    assert res["finish_reason"] == "cancelled"
    n = res["usage"]["completion_tokens"]
    assert 3 <= n < 4000
    assert res["token_ids"] == [t for x in server.stream_of("cancel-me") for t in x["token_ids"]]
    # no more tokens arrive after the cancel result
    assert server.call("stats")["active_sequences"] == 0
    assert len([t for x in server.stream_of("cancel-me") for t in x["token_ids"]]) == n
    # cancelling something unknown (or finished) is not an error
    assert server.call("cancel", {"request_id": "cancel-me"})["cancelled"] is False


def test_cancel_as_notification(server):
    rid = server.start_generate(prompt="The river", max_tokens=4000, request_id="cancel-2")
    assert wait_until(lambda: len(server.stream_of("cancel-2")) >= 1, timeout=60)
    server.send("cancel", {"request_id": "cancel-2"}, notify=True)
    assert server.wait(rid, timeout=30)["result"]["finish_reason"] == "cancelled"


def test_max_sequences_refuses_with_error(spawn):
    rt = spawn("--max-sequences", "2")
    a = rt.start_generate(prompt="one", max_tokens=4000, request_id="a")
    b = rt.start_generate(prompt="two", max_tokens=4000, request_id="b")
    msg = rt.call_raw("generate", {"prompt": "three", "max_tokens": 5, "request_id": "c"})
    err = msg["error"]
    assert err["code"] == errors.TOO_MANY_SEQUENCES == -32002
    assert err["data"]["reason"] == "too_many_sequences" and err["data"]["max_sequences"] == 2
    assert err["data"]["request_id"] == "c"
    for rid in ("a", "b"):
        rt.call("cancel", {"request_id": rid})
    assert rt.wait(a)["result"]["finish_reason"] == "cancelled"
    assert rt.wait(b)["result"]["finish_reason"] == "cancelled"
    # capacity is back
    assert rt.generate(prompt="three", max_tokens=3)["usage"]["completion_tokens"] == 3
    assert rt.call("stats")["counters"]["requests_rejected"] == 1


def test_max_kv_bytes_refuses_with_error(spawn):
    rt = spawn("--max-kv-bytes", "300000")
    per_token = rt.call("list_models")["models"][0]["kv_bytes_per_token"]
    assert per_token == 2 * 2 * 2 * 16 * 4  # k+v, 2 layers, 2 kv heads, head_dim 16, fp32
    ok = rt.generate(prompt="The sea", max_tokens=100)
    assert ok["usage"]["completion_tokens"] == 100
    msg = rt.call_raw("generate", {"prompt": "The sea", "max_tokens": 2000})
    err = msg["error"]
    assert err["code"] == errors.KV_CAPACITY_EXCEEDED == -32003
    assert err["data"]["needed_bytes"] > err["data"]["available_bytes"]
    assert err["data"]["max_kv_bytes"] == 300000
    # two that fit alone but not together: the second is refused while the first runs
    # (alone: (3 + 250) x 512 B x 2 = 259 kB of 300 kB; together the batch is twice that)
    first = rt.start_generate(prompt="The sea", max_tokens=250, request_id="big")
    second = rt.call_raw("generate", {"prompt": "The sea", "max_tokens": 250})
    assert second["error"]["code"] == -32003
    rt.call("cancel", {"request_id": "big"})
    rt.wait(first)


def test_prompt_cache_is_evicted_to_admit_work(spawn):
    rt = spawn("--max-kv-bytes", "400000")
    rt.generate(prompt="A long conversation about the harbour " * 10, max_tokens=50, session_id="s")
    assert rt.call("stats")["prompt_cache"]["entries"] == 1
    # (3 + 370) x 512 B x 2 = 382 kB: fits 400 kB alone, not beside the cached conversation
    res = rt.generate(prompt="The sea", max_tokens=370)
    assert res["usage"]["completion_tokens"] == 370
    st = rt.call("stats")
    assert st["prompt_cache"]["entries"] == 0 and st["prompt_cache"]["evictions"] == 1


def test_context_length(server):
    msg = server.call_raw("generate", {"prompt": "hello", "max_tokens": 5000})
    assert msg["error"]["code"] == errors.CONTEXT_LENGTH_EXCEEDED
    assert msg["error"]["data"]["max_context"] == 4096


def test_stats_fields(server):
    st = server.call("stats")
    for k in ("active_sequences", "batch_size", "kv_bytes_in_use", "kv_bytes_reserved", "max_kv_bytes",
              "max_sequences", "model_bytes", "prompt_cache", "counters", "uptime_ms"):
        assert k in st
    for k in ("entries", "hits", "misses", "bytes", "evictions"):
        assert k in st["prompt_cache"]
    assert st["model_bytes"] > 0


def test_a_short_request_beside_a_long_one_costs_the_long_ones_length(spawn):
    """mlx-lm pads a batch to its longest sequence (kv_accounting.py): beside a sequence reserving 403
    tokens, a 5-token request costs 403 positions, so what the per-sequence sum would admit is refused."""
    rt = spawn("--max-kv-bytes", "600000")
    long_one = rt.start_generate(prompt="The sea", max_tokens=400, request_id="long")  # 403 x 512 x 2 = 412,672
    msg = rt.call_raw("generate", {"prompt": "The sea", "max_tokens": 5})  # sum: +4,096; padded: +412,672
    assert msg["error"]["code"] == errors.KV_CAPACITY_EXCEEDED
    assert msg["error"]["data"]["needed_bytes"] == 403 * 512 * 2
    assert "padded" in msg["error"]["message"]
    rt.call("cancel", {"request_id": "long"})
    rt.wait(long_one)
    assert rt.generate(prompt="The sea", max_tokens=5)["usage"]["completion_tokens"] == 5
