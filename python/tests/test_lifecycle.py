"""Model management, tokenize/embed, shutdown and EOF."""

import math

from mlx_runtime import errors
from mlx_runtime.client import wait_until


def test_load_list_unload(spawn, tiny_model_dir):
    rt = spawn(model=False)
    assert rt.call("list_models") == {"models": [], "default": None}
    err = rt.call_raw("generate", {"prompt": "hi"})["error"]
    assert err["code"] == errors.MODEL_NOT_FOUND
    info = rt.call("load_model", {"path": tiny_model_dir, "name": "m1"})
    assert info["name"] == "m1" and info["model_type"] == "llama" and info["already_loaded"] is False
    assert info["model_bytes"] > 0 and info["kv_bytes_per_token"] > 0
    assert rt.call("load_model", {"path": tiny_model_dir, "name": "m1"})["already_loaded"] is True
    rt.call("load_model", {"path": tiny_model_dir, "name": "m2"})
    lm = rt.call("list_models")
    assert [m["name"] for m in lm["models"]] == ["m1", "m2"] and lm["default"] == "m1"
    a = rt.generate(prompt="The bell", max_tokens=5, model="m2")
    b = rt.generate(prompt="The bell", max_tokens=5)
    assert a["model"] == "m2" and b["model"] == "m1" and a["token_ids"] == b["token_ids"]
    # unloading cancels its in-flight work
    rid = rt.start_generate(prompt="The bell", max_tokens=3000, model="m2", request_id="on-m2")
    assert wait_until(lambda: len(rt.stream_of("on-m2")) >= 1, timeout=60)
    res = rt.call("unload_model", {"name": "m2"})
    assert res == {"name": "m2", "unloaded": True, "cancelled": 1}
    assert rt.wait(rid)["result"]["finish_reason"] == "cancelled"
    assert [m["name"] for m in rt.call("list_models")["models"]] == ["m1"]
    err = rt.call_raw("load_model", {"path": tiny_model_dir + "/..", "name": "m1"})["error"]
    assert err["code"] == -32602


def test_tokenize(server, tiny_lm):
    r = server.call("tokenize", {"text": "The harbour was quiet."})
    assert r["token_ids"] == tiny_lm[1].encode("The harbour was quiet.") and r["count"] == len(r["token_ids"])
    m = server.call("tokenize", {"messages": [{"role": "user", "content": "hi"}]})
    assert m["tokens"][:2] == ["<s>", "<|user|>"]


def test_embed(server):
    r = server.call("embed", {"input": ["the old mill", "the old mill", "numbers and clocks"]})
    e = r["embeddings"]
    assert len(e) == 3 and r["dim"] == 64 and len(e[0]) == 64
    for v in e:
        assert abs(math.sqrt(sum(x * x for x in v)) - 1.0) < 1e-4
    assert e[0] == e[1] and e[0] != e[2]
    assert r["usage"]["prompt_tokens"] > 0
    single = server.call("embed", {"input": "the old mill"})["embeddings"]
    assert single == [e[0]]


def test_health(server):
    h = server.call("health")
    assert h["status"] == "ok" and h["models"] == ["tiny"] and h["mlx_version"]


def test_shutdown_drains_in_flight_work(spawn):
    rt = spawn()
    rid = rt.start_generate(prompt="Once", max_tokens=40, request_id="drain-1")
    sid = rt.send("shutdown", {})
    res = rt.wait(rid, timeout=60)["result"]
    assert res["finish_reason"] == "length" and res["usage"]["completion_tokens"] == 40
    # new work is refused while draining
    assert rt.wait(sid, timeout=60)["result"]["ok"] is True
    assert rt.proc.wait(timeout=30) == 0


def test_shutdown_refuses_new_work_while_draining(spawn):
    rt = spawn()
    rid = rt.start_generate(prompt="Once", max_tokens=300, request_id="drain-2")
    assert wait_until(lambda: len(rt.stream_of("drain-2")) >= 1, timeout=60)
    sid = rt.send("shutdown", {"mode": "drain"})
    err = rt.call_raw("generate", {"prompt": "late"})["error"]
    assert err["code"] == errors.SHUTTING_DOWN == -32005
    assert rt.wait(rid, timeout=60)["result"]["finish_reason"] == "length"
    assert rt.wait(sid, timeout=60)["result"]["ok"] is True
    assert rt.proc.wait(timeout=30) == 0


def test_shutdown_cancel_mode(spawn):
    rt = spawn()
    rid = rt.start_generate(prompt="Once", max_tokens=3000, request_id="sc")
    assert wait_until(lambda: len(rt.stream_of("sc")) >= 1, timeout=60)
    sid = rt.send("shutdown", {"mode": "cancel"})
    assert rt.wait(rid, timeout=60)["result"]["finish_reason"] == "cancelled"
    assert rt.wait(sid, timeout=60)["result"]["cancelled"] == 1
    assert rt.proc.wait(timeout=30) == 0


def test_eof_on_stdin_shuts_down_cleanly(spawn):
    rt = spawn()
    rid = rt.start_generate(prompt="Once", max_tokens=3000, request_id="eof-1")
    assert wait_until(lambda: len(rt.stream_of("eof-1")) >= 1, timeout=60)
    rt.close_stdin()
    assert rt.proc.wait(timeout=30) == 0
    assert rt.wait(rid, timeout=5)["result"]["finish_reason"] == "cancelled"


def test_stdout_carries_only_protocol(spawn):
    rt = spawn()
    rt.generate(prompt="Once", max_tokens=3)
    rt.call("stats")
    import json
    for line in rt.lines:
        msg = json.loads(line)
        assert msg["jsonrpc"] == "2.0"
