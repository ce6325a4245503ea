#!/usr/bin/env bash
# Runtime benchmark: single-stream decode of the runtime vs mlx_lm directly, and
# aggregate tok/s at 1/4/16/32 concurrent sequences on the "small" model.
# Extra args go to `python -m mlx_runtime.bench` (e.g. --reps 5, --size tiny).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$HERE/interpreter.sh"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
mkdir -p "$ROOT/reports/out"
cd "$HERE"
exec "$MLX_PY" -m mlx_runtime.bench --json "$ROOT/reports/out/bench-runtime.json" "$@"
