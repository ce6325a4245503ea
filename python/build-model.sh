#!/usr/bin/env bash
# Build the project's Llama-architecture model: build-model.sh --size tiny|small --out DIR
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
bash "$HERE/setup.sh"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
exec "$HERE/.venv/bin/python" -m mlx_runtime.build_model "$@"
