"""Probe: where the time of a prefill-bearing step of mlx-lm's BatchGenerator goes.

Run on the GPU host: `python3 scripts/gpu/insert_probe.py MODEL_DIR [SEQUENCES] [MEAN_CONTEXT]`
(`run-phases.sh insert`, about a minute on gpu-1b). Written for issue 15: the fifth GPU session's step
logs (reports/reference/gpu/session5/steplogs) show, in both mlx_lm.server and the runtime, decode
steps of ~15-25 ms and steps that carry a prompt at ~130-160 ms, while the prompts they carry hold only a
few hundred new tokens (the probe of the fourth session measured prefill at ~100 k tokens/s). Those
steps take about half of the GPU's time in phases 2 and 3, so their fixed cost is the largest thing
either server could stop paying.

What it does: a decode batch of SEQUENCES (32) sequences whose contexts are drawn as in
bucket_probe.py (lognormal, mean MEAN_CONTEXT = 2,000, CV 1, 16-8,192 tokens); then one new prompt at
a time is inserted (as a request arriving in a busy server), the generator stepped until it decodes,
and the new sequence removed again (so the batch stays at SEQUENCES). Each of mlx-lm's pieces of the
step is wrapped with `mx.synchronize()` after it, so its time is its own (the probe's times therefore
add up to more than a live step, where host and device overlap): the decode pass, `_make_batch` (the
prompt caches merged), `prompt` (the prefill chunks, with mlx-lm's `mx.clear_cache()`), `split` (a
deep copy of the prompt batch), `generate` (the joiner's first pass), `extend` (the joiner copied into
the decode batch's KV) and `filter` (the removal). Variants:
  fresh-NNN       a prompt of NNN new tokens, no cached prefix, the same length every time
  fresh-varied    ~NNN new tokens, a different length each time (a new shape for every kernel)
  cached          2,000 tokens from a prefix cache (mlx-lm's own `extract_cache` of an earlier prompt)
                  + 300 new ones: a multi-turn conversation's next turn
  group-4-*       4 prompts inserted together (as `--admit-group 4:MS` hands them over): per prompt
  no-clear-cache  fresh-varied with mlx-lm's `mx.clear_cache()` a no-op
Per variant and piece it prints the median milliseconds per prompt over REPS (5) insertions, after one
warm-up; `wall` is the steps' time from insertion to decoding, per prompt.
"""
import copy
import statistics
import sys
import time
from collections import defaultdict

sys.path.insert(0, "python")
import mlx_runtime  # noqa: F401,E402  (BLAS before mlx)
import mlx.core as mx  # noqa: E402
import mlx_lm.generate  # noqa: F401,E402
from mlx_lm import load  # noqa: E402

from mlx_runtime import cache_limit  # noqa: E402
from probe_contexts import lognormal_contexts  # noqa: E402  (scripts/gpu/, the script's own folder)
from mlx_runtime.batch_generator_loop import BatchGeneratorLoop  # noqa: E402

gen_mod = sys.modules["mlx_lm.generate"]  # the module (the package's `generate` is the function)

model_dir = sys.argv[1]
n_seq = int(sys.argv[2]) if len(sys.argv) > 2 else 32
mean = float(sys.argv[3]) if len(sys.argv) > 3 else 2000.0
REPS = int(sys.argv[4]) if len(sys.argv) > 4 else 5
model, _ = load(model_dir)
cache_limit.apply()
lengths = lognormal_contexts(n_seq, mean)


def tokens(n, salt):
    return [(salt * 7919 + i * 31) % 4000 + 10 for i in range(n)]


# ---- timing wrappers: each piece synchronized, its time added to the current insertion's record ----
record = defaultdict(float)


def timed(owner, name, label):
    original = getattr(owner, name)

    def wrapper(*args, **kwargs):
        t = time.perf_counter()
        out = original(*args, **kwargs)
        mx.synchronize()
        record[label] += (time.perf_counter() - t) * 1000
        return out

    setattr(owner, name, wrapper)


timed(gen_mod.GenerationBatch, "next", "decode")
timed(gen_mod.BatchGenerator, "_make_batch", "make_batch")
timed(gen_mod.PromptProcessingBatch, "prompt", "prompt")
timed(gen_mod.PromptProcessingBatch, "split", "split")
timed(gen_mod.PromptProcessingBatch, "generate", "generate")
timed(gen_mod.GenerationBatch, "extend", "extend")
timed(gen_mod.GenerationBatch, "filter", "filter")
PIECES = ("decode", "make_batch", "prompt", "split", "generate", "extend", "filter")

KW = dict(eos_token_ids=[], max_sequences=n_seq + 8, default_max_tokens=256, prefill_batch_size=8,
          prefill_step_size=2048)
loop = BatchGeneratorLoop(model, **KW)
for k, n in enumerate(lengths):
    loop.insert(tokens(n, k), 0, None, None, 100_000)
while loop.counts()[0] < n_seq:
    loop.step(lambda rs: None)
for _ in range(5):
    loop.step(lambda rs: None)
mx.synchronize()

# A prefix cache as the runtime's prompt cache would hand it over: an earlier prompt's KV, extracted.
PREFIX = tokens(2000, 999)
uid = loop.insert(PREFIX, 0, None, None, 1)
while loop.counts()[0] < n_seq + 1:
    loop.step(lambda rs: None)
prefix_cache, _ = loop.remove(uid, True)
mx.synchronize()


def decode_alone(steps=10):
    record.clear()
    t = time.perf_counter()
    for _ in range(steps):
        loop.step(lambda rs: None)
    mx.synchronize()
    return (time.perf_counter() - t) * 1000 / steps


def insert_once(*prompts):
    """Inserts the prompts ((tokens, n_cached, cache) each) at once, steps until they all decode, removes
    them; the pieces' ms and the steps' wall ms, both per prompt, and the steps taken."""
    record.clear()
    before = loop.counts()[0]
    t = time.perf_counter()
    uids = [loop.insert(p, n_cached, cache, None, 100_000) for p, n_cached, cache in prompts]
    steps = 0
    while loop.counts()[0] < before + len(uids):
        loop.step(lambda rs: None)
        steps += 1
    for uid in uids:
        loop.remove(uid, False)
    mx.synchronize()
    k = len(uids)
    return {p: ms / k for p, ms in record.items()}, (time.perf_counter() - t) * 1000 / k, steps


def variant(name, make, group=1):
    """make(i) -> one prompt; `group` of them inserted together per repetition (per-prompt figures)."""
    insert_once(*(make(-1 - j) for j in range(group)))  # warm-up
    rows = [insert_once(*(make(i * group + j) for j in range(group))) for i in range(REPS)]
    out = {p: round(statistics.median(r[0].get(p, 0.0) for r in rows), 1) for p in PIECES}
    out["wall"] = round(statistics.median(r[1] for r in rows), 1)
    out["steps"] = statistics.median(r[2] for r in rows)
    print(name, out, flush=True)


print("contexts", {"n": n_seq, "mean": round(statistics.fmean(lengths)), "max": max(lengths)}, flush=True)
print("decode-alone", {"ms_per_step": round(decode_alone(), 1)}, flush=True)
for n in (128, 512, 2048):
    variant(f"fresh-{n}", lambda i, n=n: (tokens(n, 5000 + i), 0, None))
variant("fresh-varied", lambda i: (tokens(480 + 7 * (i + 2), 6000 + i), 0, None))
variant("cached", lambda i: (PREFIX + tokens(300 + i, 7000 + i), len(PREFIX), copy.deepcopy(prefix_cache)))
# Admit groups (python/mlx_runtime/admit_group.py): 4 prompts joining in one step, figures per prompt.
variant("group-4-varied", lambda i: (tokens(500 + (i + 3) * 3 % 97, 9000 + i), 0, None), group=4)
variant("group-4-cached", lambda i: (PREFIX + tokens(300 + i, 9500 + i), len(PREFIX), copy.deepcopy(prefix_cache)), group=4)
mx.clear_cache = lambda: None  # mlx-lm calls it through mx: the variant without it
variant("no-clear-cache", lambda i: (tokens(480 + 7 * (i + 40), 8000 + i), 0, None))
print("decode-alone", {"ms_per_step": round(decode_alone(), 1)}, flush=True)
loop.close()
