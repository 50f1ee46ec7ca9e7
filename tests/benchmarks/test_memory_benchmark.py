"""The memory benchmark: its tables from fake results (known crossings, known final returns), and a quick real run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

pytest.importorskip("scipy", reason="the statistics need the bench extra")

from benchmarks import memory as bench  # noqa: E402
from benchmarks.benchlib import numbers, read_tables  # noqa: E402

CARTPOLE_COLUMNS = ["variant", "reached", "env steps to threshold", "seconds to threshold", "seconds vs RecurrentPPO",
                    "steps/s", "final return"]
# cartpole: where each variant's return jumps to 500 (env steps, times seed + 1); None never does
CROSS = {"mlp (no memory)": None, "framestack": 4000, "transformer": 8000, bench.OWN_DEFAULTS: None,
         "lstm": 12000, bench.REFERENCE.name: 20000}
# tmaze: the longest corridor each backbone solves
REACH = {"mlp (no memory)": 0, "framestack": 3, "transformer": 15, "lstm": 32}


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    out = []
    for job in jobs:
        fps = 1000.0 if job["reference"] else 4000.0
        steps = list(range(1000, job["steps"] + 1, 1000))
        if job["env"] == bench.CARTPOLE:
            at = CROSS[job["variant"]]
            returns = [500.0 if at is not None and s >= at * (job["seed"] + 1) else 20.0 for s in steps]
            final = returns[-1]
        else:
            final = 1.0 if job["env_kwargs"]["length"] <= REACH[job["variant"]] else 0.0
            returns = [final] * len(steps)
        out.append({**job, "fps": fps, "seconds": job["steps"] / fps, "final_return": final,
                    "curve": [steps, [s / fps for s in steps], returns]})
    return out


def test_tables_from_fake_results(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(bench, "WINDOW", 1)
    seen: list[dict[str, Any]] = []
    out = tmp_path / "B.md"
    monkeypatch.setattr(bench, "TMAZE_EPISODES", 100)
    text = bench.main(["--seeds", "3", "--cartpole-steps", "60000", "--tmaze-steps", "2000", "--lengths", "2", "8",
                       "32", "--benchmarks", str(out), "--plot", str(tmp_path / "memory.png")],
                      run=lambda jobs, w: seen.extend(jobs) or fake_run(jobs, w))
    (cart_h, cart), (maze_h, maze) = read_tables(text)
    assert cart_h == CARTPOLE_COLUMNS
    cells = {r[0]: r for r in cart}
    assert list(cells) == [v.name for v in bench.CARTPOLE_VARIANTS]
    # framestack crosses at 4k, 8k, 12k steps (IQM of 3: the middle one) at 4,000 steps/s: 2 s; the reference at
    # 20k, 40k, 60k at 1,000 steps/s: 40 s; 2 / 40 = 0.05x
    assert cells["framestack"][1] == "3/3" and numbers(cells["framestack"][2])[0] == 8000
    assert numbers(cells["framestack"][3])[0] == 2.0 and cells["framestack"][4] == "0.05x"
    assert cells[bench.REFERENCE.name][4] == "1.00x" and numbers(cells[bench.REFERENCE.name][5])[0] == 1000
    assert cells["mlp (no memory)"][1] == "0/3" and numbers(cells["mlp (no memory)"][2])[0] == 60000  # the budget
    assert numbers(cells["mlp (no memory)"][6])[0] == 20.0 and numbers(cells["lstm"][6])[0] == 500.0
    # the transformer at 8k, 16k, 24k steps: 4 s (IQM) against the reference's 40 s
    assert ("Target (the transformer with its shipped defaults reaches 475 in every seed in no more wall time than "
            "RecurrentPPO): met (0.10x, 3 of 3 seeds)") in text
    assert maze_h == ["backbone", "L=2", "L=8", "L=32", "steps/s"]
    rows = {r[0]: r[1:4] for r in maze}
    assert rows["framestack"] == ["3/3: 1.00", "0/3: 0.00", "0/3: 0.00"]
    assert rows["transformer"] == ["3/3: 1.00", "3/3: 1.00", "0/3: 0.00"]
    assert rows["lstm"] == ["3/3: 1.00"] * 3 and rows["mlp (no memory)"] == ["0/3: 0.00"] * 3
    # every T-maze run lasts --tmaze-steps, and at least TMAZE_EPISODES (100) episodes of L + 1 steps: 33 x 100 at L=32
    assert sorted({j["steps"] for j in seen if j["env"] == bench.TMAZE}) == [2000, 3300]
    assert (tmp_path / "memory.png").stat().st_size > 0 and "<!-- BEGIN memory -->" in out.read_text()


@pytest.mark.parametrize("variant", [v for v in bench.CARTPOLE_VARIANTS if not v.reference],
                         ids=lambda v: v.name)
def test_real_variants_build_their_config(variant: bench.Variant) -> None:
    from benchmarks.benchlib import config

    cfg = config({"algo": "ppo", "env": bench.CARTPOLE, "seed": 1, "timesteps": 1000, "n_envs": bench.N_ENVS},
                 variant.hyper)
    assert cfg.hyperparams.get("backbone") == variant.hyper.get("backbone")
    # the shipped defaults: the zoo's PPO, but for the transformer's own part of the entry (10 epochs)
    shipped = 10 if variant.name == "transformer" else bench.ZOO_PPO_LSTM["n_epochs"]
    assert cfg.hyperparams["n_epochs"] == shipped


def test_quick_real_run(tmp_path: Path) -> None:
    text = bench.main(["--quick", "--workers", "1", "--benchmarks", str(tmp_path / "B.md")])
    (_, cart), (_, maze) = read_tables(text)
    assert len(cart) == len(bench.CARTPOLE_VARIANTS) and len(maze) == len(bench.TMAZE_VARIANTS)
    assert all(numbers(r[5])[0] > 0 for r in cart)
    assert not (tmp_path / "B.md").exists()


def test_the_reference_runs_in_a_fresh_worker_process() -> None:
    # a spawned worker may get the reference as its first job: it must register the gymsuite/ ids itself
    import subprocess
    import sys

    code = ("from benchmarks import memory as m; r = m.reference_job({'env': m.CARTPOLE, 'seed': 0, 'steps': 256, "
            "'eval_episodes': 1, 'stop': False}); assert r['steps'] >= 256 and r['fps'] > 0")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).resolve().parents[2])
    assert done.returncode == 0, done.stderr[-2000:]
