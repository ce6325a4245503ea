#!/usr/bin/env bash
# Create python/.venv and install the pinned requirements. Idempotent and quick when
# nothing changed (a stamp file holds the hash of requirements.txt + this script).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
PY="${PYTHON:-python3}"
STAMP="$VENV/.requirements.sha256"
HASH="$(cat "$HERE/requirements.txt" "$HERE/setup.sh" | sha256sum | cut -d' ' -f1)"

if [ -x "$VENV/bin/python" ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ]; then
  exit 0
fi

if [ ! -x "$VENV/bin/python" ]; then
  echo "[setup] creating $VENV" >&2
  "$PY" -m venv "$VENV"
fi
echo "[setup] installing python requirements" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q --upgrade pip >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements.txt" >&2
# Linux: patch the OpenBLAS copy that mlx_runtime loads ahead of the reference BLAS.
# Then probe it once on this CPU (a sgemm in a subprocess; the answer is cached next to the library):
# a CPU it cannot run on gets the reference BLAS instead of a SIGILL.
(cd "$HERE" && "$VENV/bin/python" -c "
from mlx_runtime import blas, blas_probe
print('[setup]', blas.prepare())
if blas.target_path().exists():
    ok, why = blas_probe.check(blas.target_path())
    print('[setup] openblas probe:', why if ok else f'failed ({why}): the runtime will use the reference BLAS')
" >&2)
echo "$HASH" > "$STAMP"
