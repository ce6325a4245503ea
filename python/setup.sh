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
(cd "$HERE" && "$VENV/bin/python" -c "from mlx_runtime import blas; print('[setup]', blas.prepare())" >&2)
echo "$HASH" > "$STAMP"
