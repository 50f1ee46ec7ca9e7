"""gymsuite tune: trials are run directories, the best config trains again, a killed study continues with the
interrupted trial's parameters, a hopeless trial is pruned, and bad input stops it before anything is written."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import optuna
import pytest
import yaml
from optuna.trial import TrialState

from gymsuite.agents.sweeps import space, tune, tunereport
from gymsuite.commands import cli
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml, write_yaml
from tests.pinned import PPO_CARTPOLE_FIRST_ENTRY

SPACE = "learning_rate: {low: 1.0e-4, high: 3.0e-3, log: true}\nn_epochs: {choices: [2, 4]}\n"
BASE = ["--algo", "ppo", "--env", "CartPole-v1", "--timesteps", "512", "--hyperparams", "n_envs=2", "n_steps=64",
        "batch_size=64"]


def _space(tmp_path: Path, text: str = SPACE, name: str = "space.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def _plan(tmp_path: Path, root: Path) -> tune.StudyPlan:
    return tune.plan_study("ppo", "CartPole-v1", 512, 0, ["n_envs=2", "n_steps=64", "batch_size=64"],
                           _space(tmp_path), root)


def _run_queued(plan: tune.StudyPlan, *queued: dict[str, Any]) -> tuple[optuna.Study, int]:
    """Open ``plan``'s study, queue these trials' params (as Optuna holds them) and run that many: the study and
    ``run_study``'s exit status."""
    with tune.study_lock(plan.root):
        study = tune.open_study(plan)
        for params in queued:
            study.enqueue_trial(params)
        return study, tune.run_study(plan, study, len(queued))


def _trials(root: Path) -> list[optuna.trial.FrozenTrial]:
    return tune.load_study(root).get_trials()


def test_a_study_writes_runs_and_a_best_config_that_trains(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    assert cli.main(["tune", *BASE, "--trials", "3", "--jobs", "2", "--study", str(root),
                     "--space", str(_space(tmp_path))]) == 0  # a round of two trials in worker processes, then one
    trials = _trials(root)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 3 and not (root / "lock").exists()
    assert all(t.user_attrs["node"] == socket.gethostname() and t.intermediate_values for t in trials)
    assert len({t.params["learning_rate"] for t in trials}) == 3
    for t in trials:
        run = root / "trials" / f"{t.number:04d}"
        assert read_yaml(run / "config.yaml")["hyperparams"]["n_epochs"] == t.params["n_epochs"]
        assert t.value == pytest.approx(yaml.safe_load((run / "eval.json").read_text())["mean_return"])
    best = max(trials, key=lambda t: t.value or 0.0)
    assert read_yaml(root / "best" / "config.yaml") == read_yaml(root / "trials" / f"{best.number:04d}" / "config.yaml")
    rows = (root / "summary.md").read_text().splitlines()
    assert len(rows) == 5 and rows[2].startswith(f"| {best.number} | COMPLETE")
    assert (root / "importance.png").stat().st_size > 0
    assert read_yaml(root / "study.yaml")["space"]["n_epochs"] == {"choices": [2, 4]}
    again = tmp_path / "again"
    assert cli.main(["train", "--config", str(root / "best" / "config.yaml"), "--timesteps", "128",
                     "--run-dir", str(again)]) == 0
    assert read_yaml(again / "config.yaml")["hyperparams"]["learning_rate"] == best.params["learning_rate"]
    capsys.readouterr()
    assert cli.main(["compare", str(root / "trials"), "--json"]) == 0
    assert capsys.readouterr().out.count('"finished": 1') == 3  # three settings, one run each


def _dead_pid() -> int:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def test_a_killed_study_continues_and_tries_the_interrupted_trial_again(tmp_path: Path) -> None:
    root = tmp_path / "study"
    args = ["tune", *BASE, "--trials", "2", "--study", str(root), "--space", str(_space(tmp_path))]
    assert cli.main(args) == 0
    before = {t.number: t.value for t in _trials(root)}
    # As if the process had been killed in the middle of trial 2: the trial RUNNING, the lock of a dead pid left.
    plan = _plan(tmp_path, root)
    study = tune.open_study(plan)
    cut = space.sample(plan.params, study.ask())
    (root / "lock").write_text(f"{_dead_pid()} {socket.gethostname()}\n")
    assert cli.main([*args[:-4], "--trials", "3", *args[-4:]]) == 0
    trials = _trials(root)
    assert {t.number: t.value for t in trials[:2]} == before
    assert trials[2].state == TrialState.FAIL and trials[2].user_attrs["interrupted"] is True
    assert trials[3].state == TrialState.COMPLETE and trials[3].params == cut
    assert cut not in [t.params for t in trials[:2]]  # the reopened study proposed a new configuration
    assert (root / "trials" / "0003" / "eval.json").is_file() and not (root / "lock").exists()


def test_a_hopeless_trial_is_pruned(tmp_path: Path) -> None:
    root = tmp_path / "study"
    pinned = {**PPO_CARTPOLE_FIRST_ENTRY, "n_envs": 4, "n_steps": 64, "batch_size": 64}
    plan = tune.plan_study("ppo", "CartPole-v1", 3072, 0, [f"{key}={value}" for key, value in pinned.items()],
                           _space(tmp_path, "ent_coef: {choices: [0.0, 100.0]}\n"), root, tune.Pruning(startup=1))
    # ent_coef 100: the entropy bonus swamps the return, a uniform random policy.
    assert _run_queued(plan, {"ent_coef": 0.0}, {"ent_coef": 100.0})[1] == 0
    good, bad = _trials(root)
    assert good.state == TrialState.COMPLETE and bad.state == TrialState.PRUNED
    steps = yaml.safe_load((root / "trials" / "0001" / "eval.json").read_text())["timesteps"]
    assert bad.user_attrs["pruned_at"] < 3072 and steps < 3072


@pytest.mark.parametrize("text", [
    "learning_rat: {low: 1.0e-4, high: 1.0e-3}\n",  # not a PPO hyperparameter
    "learning_rate: {low: 1.0e-3, high: 1.0e-4}\n",  # low >= high
    "learning_rate: {low: 0.0, high: 1.0e-3, log: true}\n",  # log with low <= 0
    "n_epochs: {choices: []}\n",
    "n_epochs: {low: 1, high: 5, step: 2}\n",  # unknown field
    "n_epochs: {low: one, high: 5, int: true}\n",
    "gamma: {low: 0.9, high: 1.5}\n",  # a value training refuses
    "policy_kwargs.net_arch: {choices: [[8], '[8]']}\n",  # a string that spells another choice's label
])
def test_a_bad_space_stops_before_anything_is_written(text: str, tmp_path: Path,
                                                      capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    assert cli.main(["tune", *BASE, "--trials", "1", "--study", str(root), "--space", str(_space(tmp_path, text))]) == 2
    assert "search space" in capsys.readouterr().err and not root.exists()


def test_a_study_of_another_algorithm_or_in_use_is_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    root = tmp_path / "study"
    args = ["tune", *BASE, "--trials", "1", "--study", str(root), "--space", str(_space(tmp_path))]
    a2c = _space(tmp_path, "learning_rate: {low: 1.0e-4, high: 1.0e-3}\n", "a2c.yaml")
    tune.open_study(tune.plan_study("a2c", "CartPole-v1", 512, 0, ["n_envs=2"], a2c, root))
    written = sorted(p.name for p in root.iterdir())
    assert cli.main(args) == 2 and "algo" in capsys.readouterr().err
    assert sorted(p.name for p in root.iterdir()) == written
    other = tmp_path / "other"
    tune.open_study(_plan(tmp_path, other))
    (other / "lock").write_text(f"{os.getpid()} {socket.gethostname()}\n")  # a live process: this one
    assert cli.main([*args[:-4], "--study", str(other), *args[-2:]]) == 2 and "in use" in capsys.readouterr().err
    assert not (other / "trials").exists()


@pytest.mark.parametrize("algo", space.shipped_algos())
def test_every_shipped_space_passes_the_training_checks(algo: str, tmp_path: Path) -> None:
    plan = tune.plan_study(algo, "CartPole-v1", 1000, 0, [], None, tmp_path / "study")
    assert plan.params and plan.record["space"] == yaml.safe_load(space.shipped_space(algo).read_text())
    assert not (tmp_path / "study").exists()


def test_a_dotted_name_samples_one_key_of_a_mapping_and_keeps_the_others(tmp_path: Path) -> None:
    root = tmp_path / "study"
    plan = tune.plan_study("ppo", "CartPole-v1", 512, 0,
                           ["n_envs=2", "n_steps=64", "batch_size=64", "backbone=transformer",
                            "backbone_kwargs={d_model: 16, heads: 2}"],
                           _space(tmp_path, "backbone_kwargs.context: {choices: [2, 3]}\n"), root)
    cfg = plan.config({"backbone_kwargs.context": 3})
    assert cfg.hyperparams["backbone_kwargs"] == {"d_model": 16, "heads": 2, "context": 3}
    with tune.study_lock(root):
        tune.run_study(plan, tune.open_study(plan), 1)
    (trial,) = _trials(root)
    assert trial.state == TrialState.COMPLETE
    saved = read_yaml(root / "best" / "config.yaml")["hyperparams"]["backbone_kwargs"]
    assert saved == {"d_model": 16, "heads": 2, "context": trial.params["backbone_kwargs.context"]}
    assert tune.nest({"policy_kwargs.net_arch.pi": [8]}, {"policy_kwargs": {"ortho_init": False}}) == {
        "policy_kwargs": {"ortho_init": False, "net_arch": {"pi": [8]}}}
    with pytest.raises(UserError, match="learning_rate, which holds 0.001"):
        tune.nest({"learning_rate.x": 1}, {"learning_rate": 0.001})
    with pytest.raises(UserError, match="backbone_kwargs.contxt=2 is refused: unknown option .contxt."):
        tune.plan_study("ppo", "CartPole-v1", 512, 0, ["backbone=transformer"],
                        _space(tmp_path, "backbone_kwargs.contxt: {choices: [2]}\n", "bad.yaml"), tmp_path / "b")


def test_a_list_choice_is_asked_by_its_text_and_trained_as_a_list(tmp_path: Path) -> None:
    root = tmp_path / "study"
    plan = tune.plan_study("ppo", "CartPole-v1", 128, 0, ["n_envs=2", "n_steps=64", "batch_size=64"],
                           _space(tmp_path, "policy_kwargs.net_arch: {choices: [[8], [16, 16]]}\n"), root)
    _run_queued(plan, {"policy_kwargs.net_arch": "[16, 16]"})  # as Optuna holds it: the text
    (trial,) = _trials(root)
    assert trial.state == TrialState.COMPLETE and trial.params == {"policy_kwargs.net_arch": "[16, 16]"}
    assert read_yaml(root / "trials" / "0000" / "config.yaml")["hyperparams"]["policy_kwargs"]["net_arch"] == [16, 16]
    assert "policy_kwargs.net_arch=[16, 16]" in (root / "summary.md").read_text()
    assert space.parse_space({"a": {"choices": [{"pi": [8]}, [8], 8]}}, "x")[0].labels() == ['{"pi": [8]}', "[8]", 8]


def test_a_refused_combination_is_pruned_with_its_reason(tmp_path: Path) -> None:
    root = tmp_path / "study"
    plan = tune.plan_study("ppo", "CartPole-v1", 512, 0, ["n_envs=2", "n_steps=16"],
                           _space(tmp_path, "batch_size: {choices: [16, 64]}\n"), root)
    _run_queued(plan, {"batch_size": 64})  # > n_steps * n_envs = 32
    (refused,) = _trials(root)
    assert refused.state == TrialState.PRUNED and "batch_size" in refused.user_attrs["refused"]
    assert not (root / "trials").exists() and "PRUNED" in (root / "summary.md").read_text()


def test_a_repeated_configuration_takes_the_complete_trials_value_without_training(tmp_path: Path) -> None:
    root = tmp_path / "study"
    plan = tune.plan_study("ppo", "CartPole-v1", 256, 0, ["n_envs=2", "n_steps=64", "batch_size=64"],
                           _space(tmp_path, "n_epochs: {choices: [1, 2]}\n"), root)
    study, _ = _run_queued(plan, *({"n_epochs": epochs} for epochs in (1, 2, 1, 1)))
    trials = _trials(root)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 4
    assert [t.user_attrs.get("repeat_of") for t in trials] == [None, None, 0, 0]
    assert trials[2].value == trials[3].value == trials[0].value != trials[1].value
    assert sorted(p.name for p in (root / "trials").iterdir()) == ["0000", "0001"]  # two trainings, not four
    assert "repeat_of: 0" in (root / "summary.md").read_text()
    best = tunereport.best_trial(study)
    assert best is not None and best.number in (0, 1)  # the first of equal values: never a repeat
    assert read_yaml(root / "best" / "config.yaml") == read_yaml(root / "trials" / f"{best.number:04d}" / "config.yaml")


def test_a_repeat_names_the_trial_whose_config_it_shares_when_it_is_the_best(tmp_path: Path) -> None:
    """``best/config.yaml`` comes from the trial a repeat repeats: the repeat has no run directory."""
    root = tmp_path / "study"
    (root / "trials" / "0003").mkdir(parents=True)
    write_yaml(root / "trials" / "0003" / "config.yaml", {"seed": 3})
    study = optuna.create_study(direction="maximize")
    dist: dict[str, optuna.distributions.BaseDistribution] = {"x": optuna.distributions.CategoricalDistribution([1, 2])}
    study.add_trial(optuna.trial.create_trial(params={"x": 1}, distributions=dist, value=5.0,
                                              user_attrs={"repeat_of": 3}))
    tunereport.write_outputs(study, root)
    assert read_yaml(root / "best" / "config.yaml") == {"seed": 3}


def test_sigterm_keeps_the_study_and_names_the_command_that_continues(tmp_path: Path) -> None:
    import signal
    import time

    root = tmp_path / "study"
    repo = Path(__file__).resolve().parents[2]
    command = [sys.executable, "-m", "gymsuite", "tune", *BASE[:5], "1000000", *BASE[6:], "--trials", "2",
               "--study", str(root), "--space", str(_space(tmp_path))]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 60
    while not (root / "trials" / "0000" / "config.yaml").is_file() and time.monotonic() < deadline:
        time.sleep(0.2)
    time.sleep(1.0)  # in the training loop
    child.send_signal(signal.SIGTERM)
    _, err = child.communicate(timeout=60)
    assert child.returncode == 2 and "continue with: gymsuite tune" in err
    (cut, again) = _trials(root)
    assert cut.state == TrialState.FAIL and cut.user_attrs["interrupted"] is True
    assert again.state == TrialState.WAITING and again.user_attrs["retry_of"] == cut.number
    assert not (root / "lock").exists()


def test_a_timeout_starts_no_trial_after_it(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    class Clock:  # 30 s pass between two looks at the clock
        now = 0.0

        @classmethod
        def monotonic(cls) -> float:
            cls.now += 30.0
            return cls.now

    monkeypatch.setattr(tune, "time", Clock)
    root = tmp_path / "study"
    args = ["tune", *BASE, "--study", str(root), "--space", str(_space(tmp_path))]
    assert cli.main([*args, "--timeout", "80"]) == 0  # the deadline is at 110: one trial starts at 90, none at 120
    assert len(_trials(root)) == 1 and "1 trials finished" in capsys.readouterr().out
    for bad in (["--timeout", "0"], []):  # no way to end
        assert cli.main([*args, *bad]) == 2


def test_several_seeds_per_trial_train_each_seed_and_the_value_is_their_mean(tmp_path: Path) -> None:
    root = tmp_path / "study"
    assert cli.main(["tune", *BASE, "--trials", "2", "--seeds-per-trial", "2", "--seed", "5", "--study", str(root),
                     "--space", str(_space(tmp_path))]) == 0
    trials = _trials(root)
    assert [t.state for t in trials] == [TrialState.COMPLETE] * 2
    for t in trials:
        runs = [root / "trials" / f"{t.number:04d}" / f"seed{s}" for s in (5, 6)]
        returns = [yaml.safe_load((run / "eval.json").read_text())["mean_return"] for run in runs]
        assert [read_yaml(run / "config.yaml")["seed"] for run in runs] == [5, 6]
        assert t.value == pytest.approx(sum(returns) / 2) and t.user_attrs["seed_values"] == pytest.approx(returns)
        steps = sorted(t.intermediate_values)  # the second seed reports after the first seed's steps
        assert steps[-1] > 512 and len(steps) == 2 * len([s for s in steps if s <= 512])
    best = max(trials, key=lambda t: t.value or 0.0)
    assert read_yaml(root / "best" / "config.yaml")["seed"] == 5
    assert read_yaml(root / "study.yaml")["seeds_per_trial"] == 2
    # the study is two seeds per trial: continuing it with one is refused, as any other changed setting
    assert cli.main(["tune", *BASE, "--trials", "3", "--seed", "5", "--study", str(root),
                     "--space", str(_space(tmp_path))]) == 2
    assert cli.main(["tune", *BASE, "--trials", "1", "--seeds-per-trial", "0"]) == 2
    assert best.number in (0, 1)


def test_objective_steps_to_the_target_is_minus_the_steps_per_solved_seed(tmp_path: Path) -> None:
    root = tmp_path / "study"
    # A random CartPole policy lasts about 22 steps: 9 is reached at the first evaluation (every 128 steps here).
    assert cli.main(["tune", *BASE, "--trials", "2", "--seeds-per-trial", "2", "--objective", "steps",
                     "--target-return", "9", "--study", str(root), "--space", str(_space(tmp_path))]) == 0
    for t in _trials(root):
        evals = [yaml.safe_load((root / "trials" / f"{t.number:04d}" / f"seed{s}" / "eval.json").read_text())
                 for s in (0, 1)]
        assert all(e["target_reached"] for e in evals)
        assert t.value == pytest.approx(-sum(e["target_steps"] for e in evals) / 2)
    assert read_yaml(root / "study.yaml")["target_return"] == 9.0
    missed = {"mean_return": 20.0, "train_seconds": 3.0, "timesteps": 512, "target_reached": False,
              "target_steps": None, "target_seconds": None}
    hit = {**missed, "target_reached": True, "target_steps": 256, "target_seconds": 1.0}
    assert tune.seed_value("seconds", missed) == -3.0 and tune.seed_value("steps", missed) == -512.0
    assert tune.seed_value("return", missed) == 20.0 and tune.seed_value("seconds", hit) == -1.0
    # the expected cost per solved agent when misses are run again: mean cost over the share that reached it
    assert tune.trial_value("seconds", [hit, hit]) == -1.0
    assert tune.trial_value("seconds", [hit, missed]) == pytest.approx(-(1.0 + 3.0) / 2 / 0.5)
    # none reached it: below every trial that did, however cheaply it missed, and ordered by the final return
    slow_hit = {**hit, "train_seconds": 1000.0, "timesteps": 10**6, "target_steps": 10**6, "target_seconds": 1000.0}
    for objective in ("seconds", "steps"):
        assert tune.trial_value(objective, [missed] * 3) < tune.trial_value(objective, [slow_hit, missed, missed])
        assert tune.trial_value(objective, [missed]) < tune.trial_value(objective, [{**missed, "mean_return": 30.0}])
    assert tune.trial_value("steps", [missed]) == -tunereport.UNSOLVED + 20.0
    assert tune.trial_value("return", [hit, missed]) == 20.0


@pytest.mark.parametrize(("extra", "message"), [
    (["--objective", "seconds"], "none is given"),
    (["--objective", "seconds", "--target-return", "600"], "above the most CartPole-v1 can return"),
])
def test_a_time_objective_needs_a_reachable_target(extra: list[str], message: str, tmp_path: Path,
                                                   capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["tune", *BASE, "--trials", "1", "--study", str(tmp_path / "s"), *extra]) == 2
    assert message in capsys.readouterr().err and not (tmp_path / "s").exists()
    with pytest.raises(UserError, match="did you mean 'seconds'"):
        tune.plan_study("ppo", "CartPole-v1", 512, 0, [], None, tmp_path / "t", objective="secnds")


def test_summary_shows_a_trial_that_reached_no_target_by_its_return() -> None:
    missed = optuna.trial.create_trial(value=-tunereport.UNSOLVED - 150.0)
    solved = optuna.trial.create_trial(value=-42.5)
    missed.number, solved.number = 0, 1
    table = tunereport.summary([missed, solved])
    rows = table.splitlines()[2:]
    assert rows[0].startswith("| 1 | COMPLETE | -42.5 |")  # best first
    assert rows[1].startswith("| 0 | COMPLETE | none reached (return -150) |")
