#!/usr/bin/env bash
# Set up the venv, then run the python runtime tests. Exit code = pytest's.
set -uo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
ROOT="$(cd "$HERE/.." && pwd)"
. "$HERE/interpreter.sh"
mkdir -p "$ROOT/reports/out/test-results"
cd "$HERE"
# One BLAS thread: the tiny test model gains nothing from more and the machine is shared.
export OPENBLAS_NUM_THREADS="${OPENBLAS_NUM_THREADS:-1}"
export PYTHONPATH="$HERE${PYTHONPATH:+:$PYTHONPATH}"
"$MLX_PY" -m pytest "$HERE/tests" -q \
  --junitxml="$ROOT/reports/out/test-results/pytest.xml" "$@"
exit $?
