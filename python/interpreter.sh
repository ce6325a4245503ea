# Sourced by the python/*.sh scripts (HERE = python/): sets MLX_PY, the interpreter to run.
# MLX_SERVING_PYTHON set (a path or a name on PATH, e.g. python3 with mlx importable): that one, and
# the venv is neither required nor created. Otherwise python/.venv, created or updated by setup.sh.
if [ -n "${MLX_SERVING_PYTHON:-}" ]; then
  MLX_PY="$MLX_SERVING_PYTHON"
  command -v "$MLX_PY" >/dev/null 2>&1 || { echo "MLX_SERVING_PYTHON=$MLX_PY: no such interpreter" >&2; exit 2; }
else
  bash "$HERE/setup.sh" || exit $?
  MLX_PY="$HERE/.venv/bin/python"
fi
