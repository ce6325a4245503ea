# Compares outlines-core with llguidance (python/mlx_runtime/structured.py) on the same schema and synthetic vocabulary.
# Not a project dependency: `python/.venv/bin/python -m pip install --target /tmp/oc outlines-core==0.2.14`, then
# `cd python && .venv/bin/python ../scripts/structured-engine-compare.py 32000`. Figures: python/PROTOCOL.md, Structured output.
import json, sys, time, statistics
sys.path.insert(0, "/tmp/oc")
sys.path.insert(0, ".")
import mlx_runtime  # noqa
from outlines_core import Guide, Index, Vocabulary
from outlines_core.json_schema import build_regex_from_schema
from mlx_runtime.bench_structured import SCHEMA, synthetic_tokenizer

n = int(sys.argv[1]); schema = json.loads(sys.argv[2]) if len(sys.argv) > 2 else SCHEMA
hf = synthetic_tokenizer(n)
eos = hf.eos_token_id
vocab_map = {}
for tok, i in hf.get_vocab().items():
    if i == eos: continue
    s = hf.convert_tokens_to_string([tok])
    vocab_map.setdefault(s, []).append(i)
t0 = time.perf_counter()
regex = build_regex_from_schema(json.dumps(schema))
print("regex chars", len(regex), flush=True)
voc = Vocabulary(eos, vocab_map)
t1 = time.perf_counter()
index = Index(regex, voc)
t2 = time.perf_counter()
print(json.dumps({"engine": "outlines-core 0.2.14", "vocab": n, "index_build_s": round(t2 - t1, 2)}), flush=True)
for batch in (1, 32):
    guides = [Guide(index) for _ in range(batch)]
    import random
    rng = random.Random(0)
    times = []
    for step in range(64):
        t = time.perf_counter()
        for g in guides:
            allowed = g.get_tokens()
            tok = allowed[rng.randrange(len(allowed))]
            if not g.is_finished():
                g.advance(tok)
        times.append(time.perf_counter() - t)
    print(json.dumps({"engine": "outlines-core", "batch": batch, "us_per_token": round(sum(times) / (64 * batch) * 1e6, 1)}), flush=True)
