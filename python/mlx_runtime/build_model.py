"""Build the project's own Llama-architecture model directory.

    python -m mlx_runtime.build_model --size tiny|small|gpu-1b|gpu-8b --out DIR [--if-changed]
    python -m mlx_runtime.build_model --size gpu-8b --describe    (shape and parameter count only)

Writes config.json (model_type "llama"), model.safetensors (random weights from a
fixed seed), tokenizer.json (byte-level BPE trained with `tokenizers` on the corpus
shipped in mlx_runtime/corpus/), tokenizer_config.json (special tokens + chat
template) and generation_config.json. `mlx_lm.load(DIR)` loads it through its
ordinary loading code. Deterministic: the same size gives the same bytes.

Random weights produce gibberish text. The output rows of the special tokens
(bos, eos, pad, unk, role markers) in lm_head are zero, so their logit is exactly 0
while the best ordinary token's logit is positive: greedy decoding never emits eos
and streams run to max_tokens (sampling at temperature > 0 can still end on eos).

The bfloat16 sizes (gpu-1b, gpu-8b: for a GPU host, never built in CI) are written by
`bf16_writer`: weights generated in chunks on all cores and streamed into the safetensors file
as bfloat16, so an 8B model (14 GB) builds in about a minute without holding it in memory.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

CORPUS_DIR = Path(__file__).resolve().parent / "corpus"

BOS, EOS, PAD, UNK = "<s>", "</s>", "<pad>", "<unk>"
ROLE_TOKENS = ["<|system|>", "<|user|>", "<|assistant|>", "<|end|>"]
SPECIAL_TOKENS = [PAD, BOS, EOS, UNK] + ROLE_TOKENS  # ids 0..7

# Tools (OpenAI function tools, passed as apply_chat_template(..., tools=...)): a system part listing
# each tool's JSON (name, description, parameters schema) first. A tool call is the assistant's whole
# message, a JSON object {"name": ..., "arguments": {...}} (the format python/mlx_runtime/tools.py
# constrains and the gateway parses); an assistant message's tool_calls render in that format, and a
# tool result (role "tool") as its own <|tool|> part. Without tools the rendering is what it was.
CHAT_TEMPLATE = (
    "{{ bos_token }}"
    "{% if tools %}"
    "{{ '<|system|>\nTools (answer with {\"name\": ..., \"arguments\": {...}} to call one):\n' }}"
    "{% for tool in tools %}{{ (tool['function'] if tool['function'] is defined else tool) | tojson }}{{ '\n' }}{% endfor %}"
    "{{ '<|end|>\n' }}"
    "{% endif %}"
    "{% for message in messages %}"
    "{% if message['tool_calls'] is defined and message['tool_calls'] %}"
    "{{ '<|' + message['role'] + '|>\n' }}"
    "{% for call in message['tool_calls'] %}"
    "{{ {'name': call['function']['name'], 'arguments': call['function']['arguments']} | tojson }}"
    "{% endfor %}"
    "{{ '<|end|>\n' }}"
    "{% else %}"
    "{{ '<|' + message['role'] + '|>\n' + (message['content'] or '') + '<|end|>\n' }}"
    "{% endif %}"
    "{% endfor %}"
    "{% if add_generation_prompt %}{{ '<|assistant|>\n' }}{% endif %}"
)

SEED = 1234
# Bump when the output format changes, so cached builds are rebuilt.
BUILDER_VERSION = 1


@dataclass(frozen=True)
class Size:
    name: str
    hidden: int
    layers: int
    heads: int
    kv_heads: int
    intermediate: int
    vocab: int
    dtype: str  # "float32" | "float16" | "bfloat16"
    max_positions: int = 4096


SIZES = {
    # Loads in well under a second; used by the test-suite.
    "tiny": Size("tiny", hidden=64, layers=2, heads=4, kv_heads=2, intermediate=172,
                 vocab=2048, dtype="float32"),
    # Large enough that single-stream decode on a 2-core CPU runs at tens of tok/s,
    # so batching and queueing behave like a large model on a Mac.
    # (hidden 768, 12 layers, ~75 M parameters, ~300 MB in float32: float32 because
    # mlx's CPU matmul goes through BLAS sgemm only for float32.)
    "small": Size("small", hidden=768, layers=12, heads=12, kv_heads=4,
                  intermediate=2048, vocab=4096, dtype="float32"),
    # GPU sizes (bfloat16, Llama shapes; built on the GPU host, never in CI). The shipped corpus gives
    # the tokenizer only ~1.2 k tokens whatever vocab is asked for, so the embedding and lm_head are
    # small: gpu-1b has ~0.98 B parameters (Llama-3.2-1B's shape without its 128 k vocabulary, which is
    # ~21 % of that model's weights), gpu-8b ~6.98 B (Llama-3-8B's shape; its vocab is 6.5 % of 8 B).
    # A context of 40 k positions: the phase workloads bound a conversation at 32 k tokens.
    "gpu-1b": Size("gpu-1b", hidden=2048, layers=16, heads=32, kv_heads=8, intermediate=8192,
                   vocab=4096, dtype="bfloat16", max_positions=40960),
    "gpu-8b": Size("gpu-8b", hidden=4096, layers=32, heads=32, kv_heads=8, intermediate=14336,
                   vocab=4096, dtype="bfloat16", max_positions=40960),
}


def _corpus_files() -> list[str]:
    files = sorted(str(p) for p in CORPUS_DIR.glob("*.txt"))
    if not files:
        raise FileNotFoundError(f"no corpus text in {CORPUS_DIR}")
    return files


def train_tokenizer(vocab_size: int):
    """Byte-level BPE (GPT-2 style) trained on the shipped corpus."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        min_frequency=2,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    tok.train(_corpus_files(), trainer)
    bos_id = tok.token_to_id(BOS)
    tok.post_processor = processors.TemplateProcessing(
        single=f"{BOS} $A",
        pair=f"{BOS} $A {BOS} $B",
        special_tokens=[(BOS, bos_id)],
    )
    return tok


def _init_weights(size: Size, vocab: int, special_ids: list[int]) -> dict[str, np.ndarray]:
    rng = np.random.Generator(np.random.PCG64(SEED))
    head_dim = size.hidden // size.heads
    std = 0.02
    out_std = std / np.sqrt(2 * size.layers)

    def normal(shape, s):
        return (rng.standard_normal(shape, dtype=np.float32) * np.float32(s)).astype(np.float32)

    w: dict[str, np.ndarray] = {}
    # Embeddings with a larger scale so hidden states carry the token identity
    # and the random model does not collapse onto one token.
    w["model.embed_tokens.weight"] = normal((vocab, size.hidden), 1.0)
    for i in range(size.layers):
        p = f"model.layers.{i}."
        w[p + "input_layernorm.weight"] = np.ones(size.hidden, np.float32)
        w[p + "post_attention_layernorm.weight"] = np.ones(size.hidden, np.float32)
        w[p + "self_attn.q_proj.weight"] = normal((size.heads * head_dim, size.hidden), std)
        w[p + "self_attn.k_proj.weight"] = normal((size.kv_heads * head_dim, size.hidden), std)
        w[p + "self_attn.v_proj.weight"] = normal((size.kv_heads * head_dim, size.hidden), std)
        w[p + "self_attn.o_proj.weight"] = normal((size.hidden, size.heads * head_dim), out_std)
        w[p + "mlp.gate_proj.weight"] = normal((size.intermediate, size.hidden), std)
        w[p + "mlp.up_proj.weight"] = normal((size.intermediate, size.hidden), std)
        w[p + "mlp.down_proj.weight"] = normal((size.hidden, size.intermediate), out_std)
    w["model.norm.weight"] = np.ones(size.hidden, np.float32)
    lm_head = normal((vocab, size.hidden), 1.0 / np.sqrt(size.hidden))
    lm_head[special_ids] = 0.0  # logit exactly 0: never the argmax (see module doc)
    w["lm_head.weight"] = lm_head
    return w


def weight_specs(size: Size, vocab: int) -> list[tuple[str, tuple[int, ...], float | None]]:
    """(name, shape, std) of every weight, sorted by name; std None = ones (norms)."""
    head_dim = size.hidden // size.heads
    std = 0.02
    out_std = std / float(np.sqrt(2 * size.layers))
    specs: list[tuple[str, tuple[int, ...], float | None]] = [
        ("model.embed_tokens.weight", (vocab, size.hidden), 1.0),
        ("model.norm.weight", (size.hidden,), None),
        ("lm_head.weight", (vocab, size.hidden), 1.0 / float(np.sqrt(size.hidden))),
    ]
    for i in range(size.layers):
        p = f"model.layers.{i}."
        specs += [
            (p + "input_layernorm.weight", (size.hidden,), None),
            (p + "post_attention_layernorm.weight", (size.hidden,), None),
            (p + "self_attn.q_proj.weight", (size.heads * head_dim, size.hidden), std),
            (p + "self_attn.k_proj.weight", (size.kv_heads * head_dim, size.hidden), std),
            (p + "self_attn.v_proj.weight", (size.kv_heads * head_dim, size.hidden), std),
            (p + "self_attn.o_proj.weight", (size.hidden, size.heads * head_dim), out_std),
            (p + "mlp.gate_proj.weight", (size.intermediate, size.hidden), std),
            (p + "mlp.up_proj.weight", (size.intermediate, size.hidden), std),
            (p + "mlp.down_proj.weight", (size.hidden, size.intermediate), out_std),
        ]
    return sorted(specs)


def param_count(size: Size, vocab: int) -> int:
    return sum(int(np.prod(shape)) for _, shape, _ in weight_specs(size, vocab))


def _save_safetensors(weights: dict[str, np.ndarray], dtype: str, path: Path) -> None:
    import mlx.core as mx

    mx_dtype = {"float32": mx.float32, "float16": mx.float16, "bfloat16": mx.bfloat16}[dtype]
    arrays = {k: mx.array(weights[k]).astype(mx_dtype) for k in sorted(weights)}
    mx.save_safetensors(str(path), arrays, metadata={"format": "mlx"})


def build(size_name: str, out: Path) -> Path:
    return build_size(SIZES[size_name], out)


def build_size(size: Size, out: Path) -> Path:
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{out.name}.", dir=str(out.parent)))
    os.chmod(tmp, 0o755)
    try:
        tok = train_tokenizer(size.vocab)
        vocab = tok.get_vocab_size()
        tok.save(str(tmp / "tokenizer.json"))
        special_ids = [tok.token_to_id(t) for t in SPECIAL_TOKENS]
        bos_id, eos_id, pad_id = tok.token_to_id(BOS), tok.token_to_id(EOS), tok.token_to_id(PAD)
        end_id = tok.token_to_id("<|end|>")

        config = {
            "architectures": ["LlamaForCausalLM"],
            "model_type": "llama",
            "hidden_size": size.hidden,
            "num_hidden_layers": size.layers,
            "num_attention_heads": size.heads,
            "num_key_value_heads": size.kv_heads,
            "intermediate_size": size.intermediate,
            "vocab_size": vocab,
            "rms_norm_eps": 1e-5,
            "rope_theta": 10000.0,
            "max_position_embeddings": size.max_positions,
            "tie_word_embeddings": False,
            "attention_bias": False,
            "mlp_bias": False,
            "hidden_act": "silu",
            "bos_token_id": bos_id,
            "eos_token_id": [eos_id, end_id],
            "pad_token_id": pad_id,
            "torch_dtype": size.dtype,
            "mlx_serving": {"builder_version": BUILDER_VERSION, "size": size.name, "seed": SEED},
        }
        (tmp / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True) + "\n")
        tok_config = {
            "tokenizer_class": "PreTrainedTokenizerFast",
            "bos_token": BOS,
            "eos_token": EOS,
            "pad_token": PAD,
            "unk_token": UNK,
            "additional_special_tokens": ROLE_TOKENS,
            "add_bos_token": True,
            "add_eos_token": False,
            "clean_up_tokenization_spaces": False,
            "model_max_length": size.max_positions,
            "chat_template": CHAT_TEMPLATE,
        }
        (tmp / "tokenizer_config.json").write_text(json.dumps(tok_config, indent=2, sort_keys=True) + "\n")
        (tmp / "special_tokens_map.json").write_text(json.dumps(
            {"bos_token": BOS, "eos_token": EOS, "pad_token": PAD, "unk_token": UNK,
             "additional_special_tokens": ROLE_TOKENS}, indent=2, sort_keys=True) + "\n")
        (tmp / "generation_config.json").write_text(json.dumps(
            {"bos_token_id": bos_id, "eos_token_id": [eos_id, end_id], "pad_token_id": pad_id},
            indent=2, sort_keys=True) + "\n")

        if size.dtype == "bfloat16":
            from .bf16_writer import write_random_bf16
            write_random_bf16(weight_specs(size, vocab), tmp / "model.safetensors", SEED,
                              zero_rows={"lm_head.weight": special_ids})
        else:
            weights = _init_weights(size, vocab, special_ids)
            _save_safetensors(weights, size.dtype, tmp / "model.safetensors")
            del weights

        if out.exists():
            shutil.rmtree(out)
        os.replace(tmp, out)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return out


def fingerprint(size_name: str) -> str:
    """Hash of everything the build depends on (for caching built models)."""
    h = hashlib.sha256()
    h.update(repr((BUILDER_VERSION, SEED, SIZES[size_name], CHAT_TEMPLATE, SPECIAL_TOKENS)).encode())
    h.update(Path(__file__).read_bytes())
    if SIZES[size_name].dtype == "bfloat16":
        h.update((Path(__file__).parent / "bf16_writer.py").read_bytes())
    for f in _corpus_files():
        h.update(Path(f).read_bytes())
    return h.hexdigest()[:16]


def ensure_built(size_name: str, out: Path) -> Path:
    """Build into `out` unless it already holds this exact build."""
    out = Path(out)
    stamp = out / ".build-fingerprint"
    fp = fingerprint(size_name)
    if stamp.exists() and stamp.read_text().strip() == fp and (out / "model.safetensors").exists():
        return out
    build(size_name, out)
    stamp.write_text(fp + "\n")
    return out


def describe(size_name: str) -> dict:
    """The model a size builds: shape, the vocab the tokenizer gives, parameters and bytes."""
    size = SIZES[size_name]
    vocab = train_tokenizer(size.vocab).get_vocab_size()
    params = param_count(size, vocab)
    per = {"float32": 4, "float16": 2, "bfloat16": 2}[size.dtype]
    return {"size": size.name, "hidden": size.hidden, "layers": size.layers, "heads": size.heads,
            "kv_heads": size.kv_heads, "intermediate": size.intermediate, "vocab": vocab,
            "dtype": size.dtype, "max_positions": size.max_positions, "params": params,
            "weight_bytes": params * per}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="python -m mlx_runtime.build_model", description=__doc__.split("\n\n")[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="tiny")
    ap.add_argument("--out", help="output model directory (replaced if it exists)")
    ap.add_argument("--if-changed", action="store_true", help="keep an existing build of this exact model (its fingerprint stamp matches)")
    ap.add_argument("--describe", action="store_true", help="print the shape, parameter count and size, build nothing")
    args = ap.parse_args(argv)
    if args.describe:
        print(json.dumps(describe(args.size), indent=2))
        return 0
    if args.out is None:
        ap.error("--out is required")
    out = ensure_built(args.size, Path(args.out)) if args.if_changed else build(args.size, Path(args.out))
    total = sum(f.stat().st_size for f in out.iterdir() if f.is_file())
    print(f"{'model' if args.if_changed else 'built'} {args.size} in {out} ({total / 1e6:.1f} MB)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
