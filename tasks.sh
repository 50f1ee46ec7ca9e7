#!/usr/bin/env bash
# gymsuite's few commands. Each installs the project into .venv first (once;
# again only when pyproject.toml changes), so on a fresh machine with Python,
# pip and git one command does everything:
#   ./tasks.sh demo    train PPO on CartPole-v1 and record its video (runs/demo)
#   ./tasks.sh test    run the test suite (two worker processes; TEST_WORKERS=0 for one)
#   ./tasks.sh lint    ruff, the import layers (import-linter) and types (mypy)
#   ./tasks.sh bench [main|pg|rewards|imitation|pixels|atari|memory|multiagent|sweeps|cluster|chaos|explain|attack|export|continual|meta|rl2|mworld|domain|compress|defaults|all] [--quick ...]
#                      a benchmark (default main; each rewrites its section of BENCHMARKS.md;
#                      --quick runs it at tiny budgets and writes nothing)
#   ./tasks.sh docs    build the documentation site into site/ (mkdocs build --strict: warnings are errors)
#   ./tasks.sh setup   only install
set -euo pipefail
cd "$(dirname "$0")"
PY=${PYTHON:-python3}
VENV=.venv
STAMP=$VENV/.gymsuite-installed
IMITATION=imitation==1.0.1

setup() {
  local want
  want=$(cat pyproject.toml tasks.sh | sha256sum | cut -d' ' -f1)
  if [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$want" ]; then return 0; fi
  echo "installing gymsuite into $VENV ..." >&2
  [ -x "$VENV/bin/python" ] || "$PY" -m venv "$VENV"
  local pip=("$VENV/bin/python" -m pip -q --disable-pip-version-check)
  "${pip[@]}" install -U pip setuptools wheel
  # The CPU build of torch: a plain 'torch' requirement would pull a several-GB CUDA build.
  "${pip[@]}" install "torch==2.13.0" 2>/dev/null \
    || "${pip[@]}" install torch --index-url https://download.pytorch.org/whl/cpu \
    || "${pip[@]}" install torch
  # dev: tests and linters; bench: the benchmarks' extras (and their tests); distributed: Ray, for the Ray tests;
  # docs: MkDocs, its Material theme and mkdocstrings, for ./tasks.sh docs.
  "${pip[@]}" install -e ".[dev,bench,distributed,docs,metaworld]"
  # imitation's metadata pins gymnasium~=0.29 and stable-baselines3~=2.2; installed
  # with --no-deps it runs on the current stack (tests/test_imitation_compat.py proves it).
  "${pip[@]}" install --no-deps "$IMITATION"
  echo "$want" > "$STAMP"
}

export SDL_AUDIODRIVER=${SDL_AUDIODRIVER:-dummy}
cmd=${1:-help}
shift || true
case "$cmd" in
  setup) setup ;;
  demo)
    setup
    "$VENV/bin/python" scripts/train.py --algo ppo --env CartPole-v1 --run-dir runs/demo --overwrite --video "$@" ;;
  test)
    setup
    # Two worker processes (pytest-xdist), each test file on one of them (its module fixtures built once): the
    # suite took 9.1 min this way on 2 cores against 17.4 min in one process (2026-12-07). TEST_WORKERS=0: one process.
    "$VENV/bin/python" -m pytest -n "${TEST_WORKERS:-2}" --dist loadfile "$@" ;;
  lint)
    setup
    "$VENV/bin/ruff" check .
    "$VENV/bin/lint-imports"   # the layers (pyproject.toml [tool.importlinter])
    "$VENV/bin/mypy" ;;        # types of the product packages (pyproject.toml [tool.mypy])
  docs)
    setup
    NO_MKDOCS_2_WARNING=1 "$VENV/bin/python" -m mkdocs build --strict --site-dir site "$@" ;;
  bench)
    setup
    which=${1:-main}
    shift || true
    case "$which" in
      main|pg|rewards|imitation|pixels|atari|memory|multiagent|shift|domain|sweeps|cluster|chaos|explain|attack|export|continual|meta|rl2|mworld|compress|defaults) "$VENV/bin/python" -m "benchmarks.$which" "$@" ;;
      all) for b in main pg rewards imitation pixels atari memory multiagent shift domain sweeps cluster chaos explain attack export continual meta rl2 mworld compress defaults; do "$VENV/bin/python" -m "benchmarks.$b" "$@"; done ;;
      *) echo "unknown benchmark '$which': use main, pg, rewards, imitation, pixels, atari, memory, multiagent, shift, domain, sweeps, cluster, chaos, explain, attack, export, continual, meta, rl2, mworld, compress, defaults or all" >&2; exit 2 ;;
    esac ;;
  *) sed -n '2,12p' "$0"; exit 1 ;;
esac
