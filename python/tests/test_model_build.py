import hashlib
import json
from pathlib import Path

import mlx.core as mx

from mlx_runtime.build_model import build


def _digest(d: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(d.iterdir()) if p.is_file() and not p.name.startswith(".")}


def test_build_is_deterministic(tmp_path, tiny_model_dir):
    out = build("tiny", tmp_path / "again")
    assert _digest(out) == _digest(Path(tiny_model_dir))


def test_model_dir_layout(tiny_model_dir):
    d = Path(tiny_model_dir)
    cfg = json.loads((d / "config.json").read_text())
    assert cfg["model_type"] == "llama"
    tc = json.loads((d / "tokenizer_config.json").read_text())
    assert "chat_template" in tc and tc["bos_token"] == "<s>" and tc["eos_token"] == "</s>"
    assert (d / "tokenizer.json").exists() and (d / "model.safetensors").exists()


def test_mlx_lm_loads_it(tiny_lm):
    model, tok = tiny_lm
    assert model.model_type == "llama"
    ids = tok.encode("The harbour was quiet.")
    assert ids[0] == tok.bos_token_id
    assert tok.decode(ids, skip_special_tokens=True) == "The harbour was quiet."
    logits = model(mx.array([ids]))
    assert logits.shape == (1, len(ids), model.args.vocab_size)
    text = tok.apply_chat_template([{"role": "user", "content": "hi"}], add_generation_prompt=True, tokenize=False)
    assert text == "<s><|user|>\nhi<|end|>\n<|assistant|>\n"


def test_greedy_does_not_stop_immediately(tiny_lm):
    from mlx_lm import stream_generate

    model, tok = tiny_lm
    out = list(stream_generate(model, tok, "Once upon a time", max_tokens=40))
    assert len(out) == 40 and out[-1].finish_reason == "length"
    assert not any(r.token in tok.eos_token_ids for r in out)


def test_if_changed_keeps_an_up_to_date_build(tmp_path):
    from mlx_runtime.build_model import main

    out = tmp_path / "m"
    assert main(["--size", "tiny", "--out", str(out), "--if-changed"]) == 0
    weights = out / "model.safetensors"
    first = weights.stat().st_mtime_ns
    assert (out / ".build-fingerprint").exists()
    assert main(["--size", "tiny", "--out", str(out), "--if-changed"]) == 0
    assert weights.stat().st_mtime_ns == first  # reused, not rebuilt
    assert main(["--size", "tiny", "--out", str(out)]) == 0
    assert weights.stat().st_mtime_ns != first  # without the flag: rebuilt
