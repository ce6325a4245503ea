"""A diagnostic: MLX's memory counters every 2 s, to a file, when MLX_SERVING_MEMLOG_DIR is set.

Written for the GPU runs (reports/reference/gpu/README.md), where mlx_lm.server ran out of an H200's
memory: whether the growth is live arrays (`active`) or MLX's buffer cache (`cache`) says which fix
applies. Each process writes <dir>/<label>-<pid>.log: `seconds active_bytes cache_bytes peak_bytes`.
Both the runtime and the live baseline start it; unset, nothing runs.
"""

from __future__ import annotations

import os
import threading
import time

ENV_VAR = "MLX_SERVING_MEMLOG_DIR"
INTERVAL_S = 2.0


def start(label: str) -> bool:
    """Starts the logging thread if MLX_SERVING_MEMLOG_DIR is set; True when it did."""
    out_dir = os.environ.get(ENV_VAR, "").strip()
    if not out_dir:
        return False
    import mlx.core as mx

    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, f"{label}-{os.getpid()}.log")
    t0 = time.perf_counter()

    def run() -> None:
        with open(path, "a", buffering=1) as f:
            f.write("seconds active_bytes cache_bytes peak_bytes\n")
            while True:
                f.write(f"{time.perf_counter() - t0:.1f} {mx.get_active_memory()} {mx.get_cache_memory()} {mx.get_peak_memory()}\n")
                time.sleep(INTERVAL_S)

    threading.Thread(target=run, name="mlx-serving-memlog", daemon=True).start()
    return True
