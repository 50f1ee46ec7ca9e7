"""The layers hold: no module imports from a layer above its own (import-linter's contract in pyproject.toml)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_layers_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "1 kept, 0 broken" in result.stdout


def test_an_upward_import_inside_a_function_is_caught(tmp_path: Path) -> None:
    # A copy of the packages with one upward import hidden in a function body: the check must fail.
    import shutil

    for name in ("common", "envs", "supervised", "rewards", "agents", "gymsuite", "benchmarks"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    with (tmp_path / "common" / "errors.py").open("a") as f:
        f.write("\n\ndef _upward() -> None:\n    from agents.pipeline import training  # noqa: F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert "common.errors -> agents.pipeline.training" in result.stdout
