"""The GPU sizes (gpu-1b, gpu-8b) without building them: their shapes and parameter counts, and a
tiny bfloat16 model built through the same chunked writer, loaded and run by mlx_lm."""

import hashlib
import json
from dataclasses import replace

import mlx.core as mx
import numpy as np

from mlx_runtime import bf16_writer
from mlx_runtime.build_model import SEED, SIZES, build_size, describe, param_count, train_tokenizer, weight_specs


def test_gpu_sizes_have_llama_shapes_and_expected_parameter_counts():
    vocab = train_tokenizer(SIZES["gpu-1b"].vocab).get_vocab_size()
    one, eight = SIZES["gpu-1b"], SIZES["gpu-8b"]
    assert (one.hidden, one.layers, one.heads, one.kv_heads, one.intermediate) == (2048, 16, 32, 8, 8192)
    assert (eight.hidden, eight.layers, eight.heads, eight.kv_heads, eight.intermediate) == (4096, 32, 32, 8, 14336)
    assert one.dtype == eight.dtype == "bfloat16"
    # Per layer: q, o = h²; k, v = h·kv·head_dim; MLP 3·h·i; two norms. Plus embed + lm_head + final norm.
    def expected(s):
        hd = s.hidden // s.heads
        layer = 2 * s.hidden**2 + 2 * s.hidden * s.kv_heads * hd + 3 * s.hidden * s.intermediate + 2 * s.hidden
        return s.layers * layer + 2 * vocab * s.hidden + s.hidden
    assert param_count(one, vocab) == expected(one)
    assert param_count(eight, vocab) == expected(eight)
    assert 0.95e9 < param_count(one, vocab) < 1.05e9
    assert 6.9e9 < param_count(eight, vocab) < 7.1e9
    d = describe("gpu-8b")
    assert d["weight_bytes"] == 2 * d["params"] and d["vocab"] == vocab


def test_bf16_rounding_matches_mlx():
    x = (np.random.default_rng(0).standard_normal(200_000) * 3).astype(np.float32)
    x[:4] = [0.0, -0.0, 1e-40, -3.3895314e38]
    ref = np.array(mx.array(x).astype(mx.bfloat16).view(mx.uint16))
    assert np.array_equal(bf16_writer.to_bf16_bits(x.copy()), ref)


def test_tiny_bf16_build_through_the_gpu_path(tmp_path, monkeypatch):
    # Small chunks, so tensors span several chunks as the big ones do.
    monkeypatch.setattr(bf16_writer, "CHUNK_ELEMS", 4096)
    size = replace(SIZES["gpu-1b"], name="gpu-test", hidden=64, layers=2, heads=4, kv_heads=2, intermediate=128, max_positions=512)
    out = build_size(size, tmp_path / "m")
    cfg = json.loads((out / "config.json").read_text())
    assert cfg["torch_dtype"] == "bfloat16" and cfg["max_position_embeddings"] == 512
    w = mx.load(str(out / "model.safetensors"))
    assert all(a.dtype == mx.bfloat16 for a in w.values())
    assert sum(a.size for a in w.values()) == param_count(size, cfg["vocab_size"])
    assert float(mx.max(mx.abs(w["model.norm.weight"] - 1))) == 0.0
    assert float(mx.max(mx.abs(w["lm_head.weight"][:8]))) == 0.0  # special tokens: logit exactly 0
    q = np.array(w["model.layers.0.self_attn.q_proj.weight"].astype(mx.float32))
    assert 0.015 < q.std() < 0.025
    # Deterministic whatever the thread count.
    again = tmp_path / "again.safetensors"
    bf16_writer.write_random_bf16(weight_specs(size, cfg["vocab_size"]), again, SEED, zero_rows={"lm_head.weight": list(range(8))}, threads=1)
    digest = lambda p: hashlib.sha256(p.read_bytes()).hexdigest()  # noqa: E731
    assert digest(again) == digest(out / "model.safetensors")

    from mlx_lm import generate, load
    model, tok = load(str(out))
    text = generate(model, tok, prompt=tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True), max_tokens=8)
    assert isinstance(text, str) and len(text) > 0
