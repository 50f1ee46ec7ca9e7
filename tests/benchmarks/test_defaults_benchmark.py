"""The defaults benchmark: its table and verdict from fake results, and its quick mode end to end (writing nothing)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from benchmarks import defaults as bench


def fake_run(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    assert workers == 1 and {j["preset"] for j in jobs} == {"zoo", "gymsuite"}
    out = []
    for job in jobs:
        fast = job["preset"] == "gymsuite"
        out.append({**job, "reached": True, "steps": 6144 if fast else 26624, "seconds": 1.5 if fast else 9.0,
                    "budget_steps": 30208 if fast else 100000, "final_return": 480.0,
                    "shaped": fast and job["env"] == "MountainCar-v0"})
    return out


def test_table_and_verdict_from_known_results(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n")
    text = bench.main(["--seeds", "3", "--benchmarks", str(out)], run=fake_run)
    cartpole = text[text.index("### ppo on CartPole-v1"):]
    assert ("| gymsuite | 30,208 | 3/3 | 6,144 [6,144, 6,144] | 1.50 [1.50, 1.50] "
            "| 480.0 [480.0, 480.0] |") in cartpole.split("<!-- END")[0]
    mountain_car = text[text.index("### dqn on MountainCar-v0"):].split("<!-- END")[0]
    assert "| gymsuite (+ its reward shaping) |" in mountain_car and "| zoo |" in mountain_car
    assert "6.0x less wall time" in text and "target (>= 2x, at least as many seeds) met" in text
    written = out.read_text()
    assert written.index("<!-- BEGIN defaults -->") < written.index("<!-- BEGIN defaults-ppo-CartPole-v1 -->") \
        < written.index("<!-- END defaults -->")
    assert "<!-- BEGIN defaults-ppo-gymsuite-PixelCartPole-v0 -->" in written  # an env id's '/' made a '-'


def test_a_zoo_that_never_reaches_the_threshold_is_beaten_by_any_seed_that_does(tmp_path: Path) -> None:
    def zoo_never(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
        return [{**r, "reached": r["preset"] == "gymsuite" and r["seed"] == 1000} for r in fake_run(jobs, workers)]

    text = bench.main(["--seeds", "2", "--tasks", "ppo:Acrobot-v1", "--no-write"], run=zoo_never)
    assert "| zoo | 100,000 | 0/2 | n/a | n/a | n/a |" in text and "| gymsuite | 30,208 | 1/2 |" in text
    assert "reached -100 in no seed within its budget (100,000 steps), the gymsuite preset in 1 of 2" in text
    assert "target (>= 2x, at least as many seeds) met" in text
    nobody = bench.main(["--seeds", "2", "--tasks", "ppo:Acrobot-v1", "--no-write"],
                        run=lambda jobs, workers: [{**r, "reached": False} for r in fake_run(jobs, workers)])
    assert "The gymsuite preset reached the threshold in no seed: target not met." in nobody


def test_each_task_is_evaluated_on_its_own_grid_unless_one_is_given(tmp_path: Path) -> None:
    jobs = bench.jobs_for(1, None, None, tmp_path, only=[("ppo", "LunarLander-v3"), ("ppo", "CartPole-v1")])
    every = {j["env"]: j["eval_every"] for j in jobs}
    assert every["LunarLander-v3"] == 16384 and every["CartPole-v1"] == 2048
    assert {j["eval_every"] for j in bench.jobs_for(1, 512, None, tmp_path)} == {512}


def test_tasks_rerun_their_subsections_in_place(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n")
    bench.main(["--seeds", "3", "--benchmarks", str(out)], run=fake_run)
    before = out.read_text()
    text = bench.main(["--seeds", "2", "--tasks", "ppo:Acrobot-v1", "--benchmarks", str(out)], run=fake_run)
    assert "### ppo on Acrobot-v1" in text and "CartPole" not in text
    assert "(`--tasks ppo:Acrobot-v1`)" in text and "| zoo | 100,000 | 2/2 |" in text
    after = out.read_text()
    assert after.count("<!-- BEGIN defaults-ppo-Acrobot-v1 -->") == 1 and "| zoo | 100,000 | 2/2 |" in after
    unchanged = before.split("<!-- BEGIN defaults-ppo-Acrobot-v1 -->")[0]
    assert after.startswith(unchanged)  # the rest of the section as it was


def test_a_task_first_run_alone_goes_inside_the_section(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n\n<!-- BEGIN defaults -->\nold table\n<!-- END defaults -->\n\n<!-- BEGIN meta -->\nm\n"
                   "<!-- END meta -->\n")
    bench.main(["--seeds", "1", "--tasks", "dqn:CartPole-v1", "--benchmarks", str(out)], run=fake_run)
    written = out.read_text()
    assert written.index("old table") < written.index("<!-- BEGIN defaults-dqn-CartPole-v1 -->") \
        < written.index("<!-- END defaults -->") < written.index("<!-- BEGIN meta -->")


def test_an_unknown_task_is_refused_naming_the_entries(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as e:
        bench.main(["--tasks", "ppo:CartPole-v2", "--no-write"], run=fake_run)
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "no gymsuite entry ppo:CartPole-v2" in err and "ppo:CartPole-v1" in err


def test_quick_mode_trains_both_presets_and_writes_nothing(tmp_path: Path) -> None:
    out = tmp_path / "B.md"
    out.write_text("# B\n")
    text = bench.main(["--quick", "--seeds", "1", "--budget", "2048", "--tasks", "ppo:CartPole-v1",
                       "dqn:MountainCar-v0", "--benchmarks", str(out)])
    cartpole = text[text.index("### ppo on CartPole-v1"):].split("<!-- END")[0]
    assert "| zoo | 2,048 | 0/1 |" in cartpole and "| gymsuite | 2,048 |" in cartpole
    assert "| gymsuite (+ its reward shaping) | 2,048 |" in text  # the MountainCar entry's shaping
    assert out.read_text() == "# B\n"
