#!/usr/bin/env bash
# Build the project's Llama-architecture model: build-model.sh --size tiny|small|gpu-1b|gpu-8b --out DIR
# (the interpreter: MLX_SERVING_PYTHON when set, else python/.venv; see interpreter.sh)
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/interpreter.sh"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
exec "$MLX_PY" -m mlx_runtime.build_model "$@"
