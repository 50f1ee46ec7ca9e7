"""The main benchmark: the plain-SB3 reference in-process, and the section's tables from fake measurements."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from benchmarks import main as bench
from benchmarks.benchlib import numbers, read_tables


def fake_eval(timesteps: int, fps: float, mean: float = 500.0) -> dict[str, Any]:
    return {"mean_return": mean, "std_return": 1.5, "episodes": 10, "timesteps": timesteps, "train_seconds": 12.34,
            "train_fps": fps}


@pytest.fixture
def fake_measurements(monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Replace the subprocesses by fixed numbers; returns the train.py command lines that were asked for."""
    calls: list[list[str]] = []
    fps = iter([1000.0, 900.0, 1100.0, 1050.0, 950.0, 1020.0])  # ours, ours with evaluations: alternating

    def run_train(args: list[str], run_dir: Path) -> tuple[dict[str, Any], float]:
        calls.append(args)
        if "LunarLander-v3" in args:
            if "--eval-freq" in args:  # periodic evaluation off
                return fake_eval(1_015_808, 7700.0, 245.0), 125.0
            return fake_eval(1_015_808, 7000.0, 250.0), 140.0
        return fake_eval(100_096, 5000.0 if "--video" in args else next(fps)), 20.0

    plain = iter([{**fake_eval(1_015_808, 7500.0, 240.0), "wall": 130.0},
                  *({**fake_eval(100_096, f), "wall": 15.0} for f in (1000.0, 800.0, 1200.0))])
    monkeypatch.setattr(bench, "run_train", run_train)
    monkeypatch.setattr(bench, "plain_sb3", lambda command, episodes: next(plain))
    monkeypatch.setattr(bench, "env_step_rates", lambda env_id, steps: {"a": 100.0, "b": 2000.5, "c": 30000.0})
    return calls


def test_section_tables_from_measurements(fake_measurements: list[list[str]], tmp_path: Path,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "BENCHMARKS.md"
    out.write_text("# bench\n\n<!-- BEGIN pg -->\nkept\n<!-- END pg -->\n")
    assert bench.main(["--repeats", "3", "--benchmarks", str(out)]) == 0
    assert sum("--video" in c for c in fake_measurements) == 1 and len(fake_measurements) == 1 + 2 + 2 * 3
    text = out.read_text()
    assert "<!-- BEGIN pg -->\nkept\n<!-- END pg -->" in text and text.count("<!-- BEGIN main -->") == 1
    demo, lunar, overhead, rates = read_tables(text)
    assert len(demo[0]) == 5 and [numbers(c) for c in demo[1][0][1:4]] == [[20.0], [12.3], [500.0, 1.5]]
    assert [r[0] for r in lunar[1]] == ["gymsuite `train.py` (10 evaluations of 5 episodes)",
                                        "gymsuite `train.py --eval-freq 0`", "plain SB3, same hyperparameters"]
    assert [numbers(r[2]) for r in lunar[1]] == [[7000], [7700], [7500]]
    assert [numbers(r[1]) for r in lunar[1]] == [[140], [125], [130]]
    assert "Plain SB3 evaluates once, at the end" in text
    plain, ours, ours_eval = overhead[1]
    assert overhead[0] == ["trainer", "env steps/s", "ratio to plain SB3", "target"]
    assert numbers(plain[1]) == [1000] and numbers(ours[1]) == [1000] and numbers(ours_eval[1]) == [1020]  # medians
    assert numbers(ours[2]) == [1.0] and numbers(ours_eval[2]) == [1.02]
    assert len(rates[1]) == 6 and [numbers(r[2]) for r in rates[1][:3]] == [[100], [2000], [30000]]


def test_quick_and_skip_lunar_change_budgets_not_structure(fake_measurements: list[list[str]],
                                                           capsys: pytest.CaptureFixture[str]) -> None:
    assert bench.main(["--quick", "--skip-lunar"]) == 0
    assert all(c[c.index("--timesteps") + 1] == str(bench.QUICK_STEPS) for c in fake_measurements)
    assert len(fake_measurements) == 1 + 2  # one overhead repeat, no LunarLander
    tables = read_tables(capsys.readouterr().out)
    assert [len(rows) for _, rows in tables] == [1, 3, 6]


def test_plain_sb3_reference_trains_and_evaluates_with_the_shipped_hyperparameters() -> None:
    command = bench.Command("ppo", "CartPole-v1", 3, timesteps=512, hyperparams=("normalize=true",))
    result = bench.plain_sb3_run(command, episodes=2)
    assert result["timesteps"] == 512  # 2 rollouts of ppo.yml's 8 envs x 32 steps
    assert 8 <= result["mean_return"] <= 500 and result["train_fps"] > 0
    assert json.loads(json.dumps(result)) == result  # plain numbers: it crosses a process boundary
    assert command.flags() == ["--algo", "ppo", "--env", "CartPole-v1", "--seed", "3", "--timesteps", "512",
                               "--hyperparams", "normalize=true"]
