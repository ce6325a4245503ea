"""A diagnostic: what mlx-lm's BatchGenerator does step by step, when MLX_SERVING_MEMLOG_DIR is set.

Written for the GPU runs (reports/reference/gpu/README.md): the runtime and mlx_lm.server produce the
same output tok/s, but the runtime's ITL p50 is 2-3x the baseline's. Both run mlx-lm's BatchGenerator,
so timing its `_next` in both processes says whether the difference is the batch size, prefill riding
along with decode, or padding (BatchKVCache pads every sequence to the longest one in the batch).

Each process appends to <dir>/<label>-steps-<pid>.log one line per 2 s window:
  seconds steps step_ms_p50 step_ms_p95 step_ms_max decode_batch_mean prefill_step_share
  prefill_tokens waiting_mean padded_over_real step_ms_sum
where idle calls are not counted, a prefill step is one that processed prompt tokens, `waiting` counts prompts not yet in the
generation batch, and padded_over_real = sum(batch x padded KV length) / sum(real context tokens) over
the window's steps (1.0 = no padding), and step_ms_sum is the time spent inside the steps (the window's
2,000 ms less it is the serving loop's own time between steps: tokens sent, requests taken in, and the
other buckets' passes). Unset, nothing is patched.
"""

from __future__ import annotations

import os
import statistics
import threading
import time
from typing import List, Tuple

ENV_VAR = "MLX_SERVING_MEMLOG_DIR"
INTERVAL_S = 2.0

# (step_ms, decode_batch, prefill_tokens, waiting, padded_tokens, real_tokens)
Step = Tuple[float, int, int, int, int, int]


def _batch_shape(gen) -> Tuple[int, int, int]:
    """(sequences, padded KV tokens, real context tokens) of a GenerationBatch, without syncing MLX."""
    n = len(gen)
    if n == 0:
        return 0, 0, 0
    caches = getattr(gen, "prompt_cache", None) or []
    padded_len = int(getattr(caches[0], "_idx", 0)) if caches else 0
    tokens = getattr(gen, "tokens", None) or []
    real = sum(len(t) for t in tokens)  # prompt + generated: mlx-lm appends each step's tokens
    return n, n * padded_len, real


def summarize(steps: List[Step]) -> str:
    """One window's line (the fields of the module docstring, seconds excluded)."""
    if not steps:
        return "0 0 0 0 0 0 0 0 0 0"
    ms = sorted(s[0] for s in steps)
    p95 = ms[min(len(ms) - 1, int(round(0.95 * (len(ms) - 1))))]
    real = sum(s[5] for s in steps)
    padded = sum(s[4] for s in steps)
    return (f"{len(steps)} {statistics.median(ms):.1f} {p95:.1f} {ms[-1]:.1f} "
            f"{statistics.fmean(s[1] for s in steps):.1f} {sum(1 for s in steps if s[2] > 0) / len(steps):.2f} "
            f"{sum(s[2] for s in steps)} {statistics.fmean(s[3] for s in steps):.1f} "
            f"{(padded / real) if real > 0 else 0:.2f} {sum(ms):.0f}")


def start(label: str) -> bool:
    """Wraps BatchGenerator._next and starts the writer thread if the variable is set; True when it did."""
    out_dir = os.environ.get(ENV_VAR, "").strip()
    if not out_dir:
        return False
    import mlx_lm.generate  # noqa: F401
    import sys

    gen_mod = sys.modules["mlx_lm.generate"]
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{label}-steps-{os.getpid()}.log")
    window: List[Step] = []
    lock = threading.Lock()
    original = gen_mod.BatchGenerator._next

    def timed_next(self):
        n, padded, real = _batch_shape(self._generation_batch)
        waiting = len(self._unprocessed_sequences) + len(self._prompt_batch)
        before = self._counters.prompt_tokens
        t = time.perf_counter()
        out = original(self)
        step = ((time.perf_counter() - t) * 1000, n, self._counters.prompt_tokens - before, waiting, padded, real)
        if n > 0 or waiting > 0:  # an idle call (nothing to decode or prefill) is not a step
            with lock:
                window.append(step)
        return out

    gen_mod.BatchGenerator._next = timed_next
    t0 = time.perf_counter()

    def run() -> None:
        with open(path, "a", buffering=1) as f:
            f.write("seconds steps step_ms_p50 step_ms_p95 step_ms_max decode_batch_mean prefill_step_share "
                    "prefill_tokens waiting_mean padded_over_real step_ms_sum\n")
            while True:
                time.sleep(INTERVAL_S)
                with lock:
                    steps = window[:]
                    window.clear()
                f.write(f"{time.perf_counter() - t0:.1f} {summarize(steps)}\n")

    threading.Thread(target=run, name="mlx-serving-steplog", daemon=True).start()
    return True
