#!/usr/bin/env bash
# Per-token cost of structured output's grammar mask (response_format; python/mlx_runtime/structured.py)
# at batch 1 and 32: the runtime's engine on the tiny model, constrained vs free, and the mask alone on a
# synthetic 128 k-token vocabulary. Args go to `python -m mlx_runtime.bench_structured`
# (--tokens 64 --vocab 128000 --batches 1,32). Figures: python/PROTOCOL.md, "Structured output".
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/python/setup.sh"
cd "$ROOT/python"
PYTHONPATH=. exec .venv/bin/python -m mlx_runtime.bench_structured "$@"
