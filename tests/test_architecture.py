"""The layers hold: no module imports from a layer above its own (import-linter's contract in pyproject.toml)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def lint_imports(cwd: Path) -> subprocess.CompletedProcess[str]:
    code = "import sys; from importlinter.cli import lint_imports; sys.exit(lint_imports())"
    return subprocess.run([sys.executable, "-c", code], cwd=cwd, capture_output=True, text=True, timeout=120)


def test_layers_are_kept() -> None:
    result = lint_imports(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    contracts = (ROOT / "pyproject.toml").read_text().count("[[tool.importlinter.contracts]]")
    assert f"{contracts} kept, 0 broken" in result.stdout


# Each contract catches a breach hidden where a reader would miss it: (file, code appended, the import reported).
BREACHES = {
    # between packages, inside a function body
    "package layers": ("common/errors.py", "def _upward() -> None:\n    from gymsuite.agents.run import training",
                       "gymsuite.common.errors -> gymsuite.agents.run.training"),
    # inside agents: demonstrations sit below the use of saved agents
    "agents rooms": ("agents/data/demos.py", "def _upward() -> None:\n    from gymsuite.agents.saved import loading",
                     "gymsuite.agents.data.demos -> gymsuite.agents.saved.loading"),
    # inside envs: a wrapper that reaches up to the factory
    "envs rooms": ("envs/wrappers/guards.py", "def _upward() -> None:\n    from gymsuite.envs.factory import make_env",
                   "gymsuite.envs.wrappers.guards -> gymsuite.envs.factory"),
    # `import envs` inside gymsuite would pick up a user's own envs/ package: the one-name contract refuses it
    "one name": ("agents/files/rundir.py", "import envs.factory", "gymsuite.agents.files.rundir -> envs "),
}


@pytest.mark.parametrize("breach", sorted(BREACHES))
def test_a_breach_of_the_layers_is_caught(tmp_path: Path, breach: str) -> None:
    file, code, reported = BREACHES[breach]
    _copy_tree(tmp_path)
    with (tmp_path / file).open("a") as f:
        f.write(f"\n\n{code}  # noqa: E402, F401\n")
    result = lint_imports(tmp_path)
    assert result.returncode != 0
    assert reported in result.stdout


# Declared dependencies that no module of ours imports, each with the reason it is declared.
RUNTIME_ONLY = {
    "tensorboard": "SB3's logger writes TensorBoard events through it",
    "datasets": "imported by imitation's modules (imitation is installed without its pins)",
    "jsonpickle": "imported by imitation's modules",
    "mpe2": "the multi-agent particle envs, imported by name from --env (mpe2.simple_spread_v3)",
    "pymunk": "the physics of PettingZoo's butterfly envs (pistonball), imported by PettingZoo",
    "onnx": "torch.onnx and onnxruntime's quantiser write ONNX files through it (gymsuite export)",
    "onnxscript": "torch's default (dynamo) ONNX exporter needs it (gymsuite export)",
}
# Imported distributions that come from elsewhere than the dependency list, and where from.
PROVIDED = {
    "pygame-ce": "gymnasium[classic-control]",
    "imitation": "tasks.sh installs it with --no-deps",
}
# Optional extras: the only module allowed to import each (it imports it inside a function, with a UserError naming
# the extra when it is missing).
OPTIONAL = {"ray": ("distributed", "agents/sweeps/distributed.py"),
            "grpcio": ("distributed", "agents/sweeps/distributed.py"),
            "metaworld": ("metaworld", "envs/metaworld.py")}
PRODUCT = ("common", "envs", "supervised", "rewards", "agents", "gymsuite")


def _name(requirement: str) -> str:
    import re

    return re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _imported_distributions(skip: tuple[str, ...] = ()) -> set[str]:
    import ast
    import importlib.metadata
    import sys

    owners = importlib.metadata.packages_distributions()
    found: set[str] = set()
    for package in PRODUCT:
        for file in (ROOT / package).rglob("*.py"):
            if file.relative_to(ROOT).as_posix() in skip:
                continue
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.split(".")[0]
                    if top in sys.stdlib_module_names or top in PRODUCT or top == "__future__":
                        continue
                    found.update(d.lower().replace("_", "-") for d in owners.get(top, [top]))
    return found


def test_declared_dependencies_match_the_imports() -> None:
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    declared = {_name(r) for r in project["dependencies"]}
    imported = _imported_distributions()
    allowed = {files for _, files in OPTIONAL.values()}
    assert not set(OPTIONAL) & _imported_distributions(tuple(allowed)), "an optional extra imported elsewhere"
    for dist, (extra, _) in OPTIONAL.items():
        assert dist in {_name(r) for r in project["optional-dependencies"][extra]}
    imported -= set(OPTIONAL)
    assert imported - declared - set(PROVIDED) == set(), "imported but not declared"
    assert declared - imported - set(RUNTIME_ONLY) == set(), "declared but never imported (nor needed at run time)"
    assert {_name(r) for r in project["optional-dependencies"]["bench"]} == {"supersuit"}


def _copy_tree(dest: Path) -> None:
    """A copy of the packages (gymsuite/ with its links to the folders beside it), the benchmarks and the config."""
    for name in (*PRODUCT, "benchmarks"):
        shutil.copytree(ROOT / name, dest / name, symlinks=True, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", dest / "pyproject.toml")
