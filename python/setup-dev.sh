#!/usr/bin/env bash
# Install the development tools (python/requirements-dev.txt) into python/.venv, after the runtime
# requirements (setup.sh). Idempotent and quick when nothing changed (its own stamp file).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
VENV="$HERE/.venv"
bash "$HERE/setup.sh"
STAMP="$VENV/.requirements-dev.sha256"
HASH="$(cat "$HERE/requirements-dev.txt" "$HERE/setup-dev.sh" | sha256sum | cut -d' ' -f1)"
if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$HASH" ] && [ -x "$VENV/bin/schemathesis" ]; then
  exit 0
fi
echo "[setup-dev] installing python dev requirements" >&2
"$VENV/bin/python" -m pip install --disable-pip-version-check -q -r "$HERE/requirements-dev.txt" >&2
echo "$HASH" > "$STAMP"
