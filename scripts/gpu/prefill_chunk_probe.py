"""Probe: what one prefill chunk of mlx-lm's BatchGenerator costs on a GPU, and why.

Run on the GPU host: `python3 scripts/gpu/prefill_chunk_probe.py MODEL_DIR`. For prefill step sizes
512 and 2048, with mlx-lm's `mx.clear_cache()` after every chunk (as generate.py does) and with it
made a no-op, it inserts 8 prompts of 2,048 tokens plus a running decode batch of 24 sequences, and
times every `BatchGenerator.next()` until the prompts decode: the median step with a prefill chunk,
the median decode-only step, and the wall time to finish the prompts. Written for issue 15 (calibration
saw 70–87 ms per prompt of any length on an H200; the runtime's ITL p50 was 3x mlx_lm.server's).
"""
import statistics
import sys
import time

sys.path.insert(0, "python")
import mlx_runtime  # noqa: F401,E402  (BLAS before mlx)
import mlx.core as mx  # noqa: E402
import mlx_lm.generate  # noqa: E402,F401
from mlx_lm import load  # noqa: E402

from mlx_runtime import cache_limit  # noqa: E402

gen = sys.modules["mlx_lm.generate"]  # the module (mlx_lm exports a function of that name)

model, _ = load(sys.argv[1])
print("cache limit", cache_limit.apply() if hasattr(cache_limit, "apply") else "n/a", flush=True)
real_clear = mx.clear_cache


def run(step: int, clear: bool, seed: int) -> dict:
    gen.mx.clear_cache = real_clear if clear else (lambda: None)
    bg = gen.BatchGenerator(model, completion_batch_size=64, prefill_batch_size=8, prefill_step_size=step)
    tok = lambda n, k: [(k * 7919 + i * 31) % 4000 + 10 for i in range(n)]  # noqa: E731
    bg.insert([tok(64, seed * 100 + i) for i in range(24)], max_tokens=[4000] * 24)
    while len(bg._generation_batch) < 24:
        bg.next()
    uids = bg.insert([tok(2048, seed * 100 + 50 + i) for i in range(8)], max_tokens=[4] * 8)
    pending, with_prefill, decode_only = set(uids), [], []
    t0 = time.perf_counter()
    while pending:
        before = len(bg._prompt_batch) + len(bg._unprocessed_sequences)
        t = time.perf_counter()
        _, resps = bg.next()
        dt = (time.perf_counter() - t) * 1000
        (with_prefill if before > 0 else decode_only).append(dt)
        for r in resps:
            if r.uid in pending:
                pending.discard(r.uid)
    wall = (time.perf_counter() - t0) * 1000
    for _ in range(20):
        t = time.perf_counter()
        bg.next()
        decode_only.append((time.perf_counter() - t) * 1000)
    bg.close()
    gen.mx.clear_cache = real_clear
    mx.clear_cache()
    return {"step": step, "clear_cache": clear, "prefill_steps": len(with_prefill),
            "prefill_step_ms_p50": round(statistics.median(with_prefill), 1),
            "decode_step_ms_p50": round(statistics.median(decode_only), 1), "wall_ms": round(wall)}


run(512, True, 0)  # warm-up (kernels, allocator)
for rep in range(2):
    for step in (512, 2048):
        for clear in (True, False):
            print(run(step, clear, rep + 1), flush=True)
