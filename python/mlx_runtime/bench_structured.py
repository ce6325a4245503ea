"""What structured output (response_format, structured.py) costs per token, at batch 1 and 32.

    bash scripts/structured-mask-cost.sh [--tokens 64] [--vocab 128000] [--batches 1,32]

Two measurements:

  engine   the runtime's Engine on the tiny model (vocab 1188 tokens), B sequences decoding together,
           all constrained (a JSON schema that cannot close within --tokens, so the batch stays full)
           vs all free, same sampling: the median step wall time of each, and the host time spent in
           the grammar processors per token (consume the previous token + compute the mask + turn it
           into an mlx bool row). The tiny model's forward pass is small, so the step time is mostly
           host work: the difference is the whole price of the mask as a fraction of a cheap step.
  vocab    the same GrammarProcessor on a synthetic byte-level BPE vocabulary of --vocab tokens (a
           real model's size: llguidance's mask walk grows with the vocabulary), B matchers stepped
           in turn as GenerationBatch does, greedy on random logits: mask us per token (as above) and
           the full per-token cost including the mx.where and the sampling's evaluation.

Prints one JSON line per measurement.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import time
from pathlib import Path

import mlx_runtime  # noqa: F401  (BLAS before mlx.core)
import mlx.core as mx

from mlx_runtime.build_model import ensure_built
from mlx_runtime.engine import Engine, EngineConfig
from mlx_runtime.structured import GrammarCompiler

# an array of small objects that must hold 1000 items: never complete within the measured tokens, and
# structural (keys, enums, integers, punctuation) rather than one long string
SCHEMA = {"type": "array", "minItems": 1000, "items": {
    "type": "object", "additionalProperties": False, "required": ["k", "v", "w"],
    "properties": {"k": {"type": "integer"}, "v": {"enum": ["red", "green", "blue"]},
                   "w": {"type": "string", "maxLength": 8}}}}
RESPONSE_FORMAT = {"type": "json_schema", "json_schema": {"name": "bench", "schema": SCHEMA}}


def engine_run(model_dir: str, batch: int, tokens: int, constrained: bool, reps: int) -> dict:
    made = []
    orig = GrammarCompiler.processor

    def recording(self, grammar):
        p = orig(self, grammar)
        made.append(p)
        return p

    GrammarCompiler.processor = recording
    try:
        eng = Engine(EngineConfig(max_sequences=max(64, batch)), lambda m: None, send_many=lambda ms: None)
        eng.load_model(model_dir, "m")
        lm = eng.models["m"]
        meds = []
        for rep in range(reps + 1):
            made.clear()
            for i in range(batch):
                p = {"prompt": f"Once upon a time {i} in the harbour", "max_tokens": tokens, "temperature": 1.0,
                     "seed": 1000 * rep + i, "request_id": f"r{rep}-{i}", "stream": True}
                if constrained:
                    p["response_format"] = RESPONSE_FORMAT
                eng.generate(i, p, time.perf_counter())
            times = []
            while eng.has_work():
                t0 = time.perf_counter()
                eng.step()
                if len(lm.active) == batch:
                    times.append((time.perf_counter() - t0) * 1000)
            times = times[3:-3] or times
            if rep > 0:
                meds.append(statistics.median(times))
        steps = sum(p.steps for p in made)
        secs = sum(p.mask_seconds for p in made)
        return {"measure": "engine", "model": "tiny", "vocab": lm.vocab_size, "batch": batch,
                "constrained": constrained, "step_ms_median": round(statistics.median(meds), 3),
                "mask_us_per_token": round(secs / steps * 1e6, 1) if steps else None}
    finally:
        GrammarCompiler.processor = orig


def synthetic_tokenizer(n: int):
    """A byte-level BPE tokenizer of n tokens (no merges: only the vocabulary matters for the mask)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers
    from transformers import PreTrainedTokenizerFast

    alphabet = pre_tokenizers.ByteLevel.alphabet()
    vocab = {c: i for i, c in enumerate(sorted(alphabet))}
    rng = random.Random(0)
    letters = "abcdefghijklmnopqrstuvwxyzetaoinshrdlu"
    punct = ['{"', '":', '",', '"}', '},', '{', '}', '[', ']', ':', ',', '"', '0', '1', '12', '2024', '.', '\\n']
    while len(vocab) < n - 1:
        r = rng.random()
        if r < 0.05:
            w = rng.choice(punct) + rng.choice(["", rng.choice(letters)])
        elif r < 0.1:
            w = str(rng.randrange(0, 10 ** rng.randrange(1, 5)))
        else:
            w = "".join(rng.choice(letters) for _ in range(rng.randrange(2, 11)))
            if rng.random() < 0.5:
                w = "Ġ" + w
            if rng.random() < 0.1:
                w = w.capitalize()
        w = w.replace(" ", "Ġ")
        vocab.setdefault(w, len(vocab))
    tok = Tokenizer(models.BPE(vocab=vocab, merges=[]))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.add_special_tokens(["<|eos|>"])
    return PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|eos|>")


def vocab_run(hf, batch: int, tokens: int) -> dict:
    n = len(hf)
    eos = hf.eos_token_id
    gc = GrammarCompiler(hf, n, [eos])
    grammar = gc.compile(SCHEMA)
    procs = [gc.processor(grammar) for _ in range(batch)]
    last = [0] * batch
    total = []
    for step in range(tokens):
        logits = mx.random.normal((batch, n), key=mx.random.key(step))
        mx.eval(logits)
        t0 = time.perf_counter()
        rows = [procs[e](mx.array([last[e]]), logits[e:e + 1]) for e in range(batch)]
        nxt = mx.argmax(mx.concatenate(rows, axis=0), axis=-1)
        last = nxt.tolist()
        total.append(time.perf_counter() - t0)
    steps = sum(p.steps for p in procs)
    secs = sum(p.mask_seconds for p in procs)
    assert not any(p.matcher.is_error() for p in procs), [p.matcher.get_error() for p in procs]
    return {"measure": "vocab", "vocab": n, "batch": batch,
            "mask_us_per_token": round(secs / steps * 1e6, 1),
            "processor_and_sample_us_per_token": round(sum(total) / (tokens * batch) * 1e6, 1),
            "per_step_ms": round(statistics.median(total) * 1000, 3)}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=64)
    ap.add_argument("--vocab", type=int, default=128000)
    ap.add_argument("--batches", default="1,32")
    ap.add_argument("--reps", type=int, default=2)
    a = ap.parse_args()
    batches = [int(b) for b in a.batches.split(",")]
    model_dir = str(ensure_built("tiny", Path(__file__).resolve().parent.parent / ".cache" / "models" / "tiny"))
    for b in batches:
        for constrained in (False, True):
            print(json.dumps(engine_run(model_dir, b, a.tokens, constrained, a.reps)), flush=True)
    if a.vocab > 0:
        hf = synthetic_tokenizer(a.vocab)
        for b in batches:
            print(json.dumps(vocab_run(hf, b, a.tokens)), flush=True)


if __name__ == "__main__":
    main()
