"""Per-step Python overhead of the engine loop at a given batch size (tiny model: compute is small,
so the step time is mostly the runtime's own Python work: scheduling, detokenization, stop checks,
JSON notifications written to /dev/null the way server.Output writes them).

    cd python && PYTHONPATH=. .venv/bin/python -m mlx_runtime.bench_step [--batch 32] [--tokens 200]
        [--scheduler planner|batch-generator] [--model DIR]

Prints, over the steps where all --batch sequences decode, the median and p90 step wall time (ms) and
the median per-step Python overhead of streaming (ms): the time in the engine's per-token handling
(`_on_token`: detokenization, stop strings, building the notification) plus the time writing the
notifications (one write per notification before the planner loop; one write per step with it).
"""

from __future__ import annotations

import argparse
import inspect
import json
import os
import statistics
import time
from pathlib import Path

import mlx_runtime  # noqa: F401  (BLAS before mlx.core)
from mlx_runtime.build_model import ensure_built
from mlx_runtime.engine import Engine, EngineConfig


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--tokens", type=int, default=200)
    ap.add_argument("--scheduler", default=None)
    ap.add_argument("--model", default=None)
    ap.add_argument("--reps", type=int, default=3)
    a = ap.parse_args()
    model_dir = a.model or str(ensure_built("tiny", Path(__file__).resolve().parent.parent / ".cache" / "models" / "tiny"))
    f = open(os.devnull, "wb", buffering=0)

    def dumps(obj: dict) -> bytes:
        return (json.dumps(obj, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n").encode()

    acc = [0.0]

    def send(obj: dict) -> None:
        t = time.perf_counter()
        f.write(dumps(obj))
        acc[0] += time.perf_counter() - t

    def send_many(objs) -> None:
        t = time.perf_counter()
        f.write(b"".join(dumps(o) for o in objs))
        acc[0] += time.perf_counter() - t

    orig_on_token = Engine._on_token

    def timed_on_token(self, *args, **kw):
        t = time.perf_counter()
        before = acc[0]
        try:
            return orig_on_token(self, *args, **kw)
        finally:
            acc[0] = before + (time.perf_counter() - t)  # includes any send inside

    Engine._on_token = timed_on_token

    kw = {}
    if a.scheduler is not None:
        kw["scheduler"] = a.scheduler
    cfg = EngineConfig(max_sequences=max(64, a.batch), **kw)
    ekw = {"send_many": send_many} if "send_many" in inspect.signature(Engine.__init__).parameters else {}
    eng = Engine(cfg, send, **ekw)
    eng.load_model(model_dir, "m")
    lm = eng.models["m"]
    meds, p90s, ovs = [], [], []
    for rep in range(a.reps + 1):
        for i in range(a.batch):
            eng.generate(i, {"prompt": f"Once upon a time {i} in the harbour", "max_tokens": a.tokens,
                             "request_id": f"r{rep}-{i}"}, time.perf_counter())
        times, over = [], []
        while eng.has_work():
            t0 = time.perf_counter()
            acc[0] = 0.0
            eng.step()
            dt = time.perf_counter() - t0
            full = len(lm.active) == a.batch
            if full:
                times.append(dt * 1000)
                over.append(acc[0] * 1000)
        times = times[5:-5]
        over = over[5:-5]
        if rep == 0:
            continue  # warm-up
        times.sort()
        meds.append(statistics.median(times))
        p90s.append(times[int(len(times) * 0.9)])
        ovs.append(statistics.median(over))
    print(json.dumps({"scheduler": a.scheduler or "default", "batch": a.batch,
                      "step_ms_median": round(statistics.median(meds), 3),
                      "step_ms_p90": round(statistics.median(p90s), 3),
                      "streaming_overhead_ms_per_step": round(statistics.median(ovs), 3)}))


if __name__ == "__main__":
    main()
