"""Probe: mlx-lm's BatchGenerator memory under a closed loop of variable-length requests.

Run on the GPU host (`python3 scripts/gpu/batch_kv_probe.py MODEL_DIR [CONCURRENCY] [SECONDS]`).
Every 2 s it prints MLX's active memory, the generation batch's KV shape in layer 0 (batch, allocated
positions) and the sum of the sequences' real lengths, so padding growth shows as allocated x batch
far above the real total. Written for reports/reference/gpu/README.md (the H200 out-of-memory).
"""
import random
import sys
import time

sys.path.insert(0, "python")
import mlx_runtime  # noqa: F401,E402  (BLAS before mlx)
import mlx.core as mx  # noqa: E402
from mlx_lm import load  # noqa: E402
from mlx_lm.generate import BatchGenerator  # noqa: E402

model_dir = sys.argv[1]
conc = int(sys.argv[2]) if len(sys.argv) > 2 else 128
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 40
model, tok = load(model_dir)
rng = random.Random(7)


def lognormal(mean, cv, lo, hi):
    import math
    s2 = math.log(1 + cv * cv)
    return int(min(hi, max(lo, rng.lognormvariate(math.log(mean) - s2 / 2, math.sqrt(s2)))))


bg = BatchGenerator(model, completion_batch_size=conc, prefill_batch_size=8, prefill_step_size=512)
lengths = {}


def submit():
    p = lognormal(500, 0.7, 16, 4096)
    m = lognormal(200, 0.7, 8, 1024)
    (uid,) = bg.insert([[rng.randrange(10, 1000) for _ in range(p)]], max_tokens=[m])
    lengths[uid] = p


for _ in range(conc):
    submit()
t0 = time.perf_counter()
last = 0.0
done = 0
while time.perf_counter() - t0 < seconds:
    out = bg.next()
    resps = out[1] if isinstance(out, tuple) else out
    for r in resps:
        if r.uid in lengths:
            lengths[r.uid] += 1
        if r.finish_reason is not None:
            lengths.pop(r.uid, None)
            done += 1
            submit()
    now = time.perf_counter() - t0
    if now - last >= 2:
        last = now
        gb = getattr(bg, "_generation_batch", None)
        shape = None
        if gb is not None and getattr(gb, "prompt_cache", None):
            c = gb.prompt_cache[0]
            shape = None if getattr(c, "keys", None) is None else tuple(c.keys.shape)
        print(f"{now:5.1f}s active {mx.get_active_memory() / 1e9:6.1f} GB cache {mx.get_cache_memory() / 1e9:5.1f} GB "
              f"layer0 keys {shape} real tokens {sum(lengths.values())} done {done}", flush=True)
