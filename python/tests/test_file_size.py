"""One concern per file (issue 13): a module over 400 lines says why at its top ("Long because ..." in
its docstring, within the first 15 lines), as TypeScript files do with their eslint-disable reason."""

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
MAX_LINES = 400


def test_a_module_over_400_lines_says_why_at_its_top():
    offenders = []
    for path in sorted((ROOT / "mlx_runtime").rglob("*.py")) + sorted((ROOT / "tools").rglob("*.py")):
        lines = path.read_text(encoding="utf-8").splitlines()
        if len(lines) > MAX_LINES and not any(line.lstrip().startswith("Long because") for line in lines[:15]):
            offenders.append(f"{path.relative_to(ROOT)} ({len(lines)} lines)")
    assert offenders == [], f"over {MAX_LINES} lines without 'Long because ...' at the top: {offenders}"
