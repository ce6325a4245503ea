"""Steady-state figures of step logs (python/mlx_runtime/steplog.py), for comparison with the simulator.

  python3 scripts/gpu/steplog_summary.py LABEL:FILE[,FILE…] …

Each argument is a label and the step logs of the repetitions to pool (one process each). A log's
steady part is the windows between the first and the last whose decode batch is >= 70 % of its
maximum, less one window at each end, and with more than 3 steps. Printed per label: steps (bucket
passes) per 2 s, the wall time per step (2000 / steps), the median over windows of the step p50 and
p95, the decode batch per step, the share of steps that carried prompt tokens, prompt tokens per
2 s, prompts waiting and padded/real KV (median over windows), and where the log has step_ms_sum (from
the eighth session on) the mean time inside a step, the rest of the wall time being the serving loop's
own. scenarios/sim-steplog.ts prints the
simulator's figures for the same runs.
"""

from __future__ import annotations

import statistics
import sys
from typing import List


def steady_rows(path: str) -> List[List[float]]:
    rows = [[float(x) for x in line.split()] for line in open(path).read().split("\n")[1:] if line.strip()]
    active = [i for i, r in enumerate(rows) if r[1] > 0 and r[5] > 0]
    if not active:
        return []
    top = max(rows[i][5] for i in active)
    ok = [i for i in active if rows[i][5] >= 0.7 * top and rows[i][1] > 3]
    return [rows[i] for i in range(ok[0] + 1, ok[-1]) if rows[i][1] > 3]


def summary(label: str, paths: List[str]) -> str:
    rows = [r for p in paths for r in steady_rows(p)]
    if not rows:
        return f"{label}: no steady windows"
    steps = sum(r[1] for r in rows)
    med = lambda k: statistics.median(r[k] for r in rows)  # noqa: E731
    return (f"{label}: windows {len(rows)}; steps/2s {steps / len(rows):.1f}; ms/step (wall) {2000 * len(rows) / steps:.1f}; "
            f"step p50 {med(2):.1f}, p95 {med(3):.1f}; batch/step {sum(r[1] * r[5] for r in rows) / steps:.1f}; "
            f"prompt-bearing share {sum(r[1] * r[6] for r in rows) / steps:.2f}; prompt tokens/2s {statistics.fmean(r[7] for r in rows):.0f}; "
            f"waiting {statistics.fmean(r[8] for r in rows):.1f}; padded/real {med(9):.2f}"
            + (f"; ms/step inside the step (mean) {sum(r[10] for r in rows) / steps:.1f}" if all(len(r) > 10 for r in rows) else ""))


if __name__ == "__main__":
    if len(sys.argv) < 2:
        print(__doc__)
        sys.exit(2)
    for arg in sys.argv[1:]:
        label, _, files = arg.partition(":")
        print(summary(label, files.split(",")))
