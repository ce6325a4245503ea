"""Probe: what context-length buckets (python/mlx_runtime/length_buckets.py) save per decode step.

Run on the GPU host: `python3 scripts/gpu/bucket_probe.py MODEL_DIR [SEQUENCES] [MEAN_CONTEXT]`
(`run-phases.sh buckets`, about a minute on gpu-1b). It inserts SEQUENCES (64) sequences whose contexts
are drawn, with a fixed seed, from a lognormal of mean MEAN_CONTEXT (2,000) tokens and CV 1 (16-8,192
tokens: phase 3's multi-turn conversations), prefills them, then times 30 decode steps of all of them,
for one batch (mlx-lm's) and for several bucket edges. It prints, per setting: the median step, output
tokens per second, and padded / real KV positions. Written for issue 15 (the fourth GPU session saw the
runtime's decode batch hold 2-4.6x more padded than real positions: reports/reference/gpu/README.md).
"""
import statistics
import sys
import time

sys.path.insert(0, "python")
import mlx_runtime  # noqa: F401,E402  (BLAS before mlx)
from mlx_lm import load  # noqa: E402

from mlx_runtime import cache_limit  # noqa: E402
from probe_contexts import lognormal_contexts  # noqa: E402  (scripts/gpu/, the script's own folder)
from mlx_runtime.length_buckets import LengthBucketedLoop  # noqa: E402
from mlx_runtime.batch_generator_loop import BatchGeneratorLoop  # noqa: E402

model_dir = sys.argv[1]
n_seq = int(sys.argv[2]) if len(sys.argv) > 2 else 64
mean = float(sys.argv[3]) if len(sys.argv) > 3 else 2000.0
model, _ = load(model_dir)
cache_limit.apply()
lengths = lognormal_contexts(n_seq, mean)
prompts = [[(k * 7919 + i * 31) % 4000 + 10 for i in range(n)] for k, n in enumerate(lengths)]
KW = dict(eos_token_ids=[], max_sequences=n_seq, default_max_tokens=256, prefill_batch_size=8, prefill_step_size=2048)


def loops_of(sched):
    return getattr(sched, "loops", None) or [sched]


def padding(sched):
    padded = real = 0
    for loop in loops_of(sched):
        gb = loop.bg._generation_batch
        if len(gb):
            padded += len(gb) * int(gb.prompt_cache[0]._idx)
            real += sum(len(t) for t in gb.tokens)
    return padded / max(1, real)


def run(bounds):
    sched = LengthBucketedLoop(model, bounds=bounds, **KW) if bounds else BatchGeneratorLoop(model, **KW)
    for p in prompts:
        sched.insert(p, 0, None, None, 10_000)
    while sched.counts()[0] < n_seq:
        sched.step(lambda rs: None)
    for _ in range(3):  # settle
        sched.step(lambda rs: None)
    steps = []
    for _ in range(30):
        t = time.perf_counter()
        sched.step(lambda rs: None)
        steps.append((time.perf_counter() - t) * 1000)
    ratio = padding(sched)
    sched.close()
    ms = statistics.median(steps)
    return {"buckets": list(bounds), "step_ms_p50": round(ms, 1), "tok_per_s": round(n_seq / ms * 1000),
            "padded_over_real": round(ratio, 2)}


print("contexts", {"n": n_seq, "mean": round(statistics.fmean(lengths)), "median": statistics.median(lengths), "max": max(lengths)}, flush=True)
run(())  # warm-up (kernels, allocator)
SETTINGS = ((), (2048,), (1024, 4096), (512, 1024, 2048, 4096))
seen = {b: [] for b in SETTINGS}
for rep in range(2):
    for bounds in SETTINGS:
        r = run(bounds)
        seen[bounds].append(r["tok_per_s"])
        print(r, flush=True)
# The setting with the best median tok/s (run-phases.sh `buckets` exports it for the phases that follow).
best = max(SETTINGS, key=lambda b: statistics.median(seen[b]))
print("best", ",".join(str(x) for x in best) or "none", statistics.median(seen[best]), flush=True)
