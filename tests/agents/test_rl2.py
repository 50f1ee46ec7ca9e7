"""RL² in ``gymsuite meta``: a tiny run end to end, a learning signal on bandits, the errors."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import gymsuite
from gymsuite.agents.meta.plan import MetaPlan, _check_rl2, make_plan
from gymsuite.commands import cli
from gymsuite.common.errors import UserError
from gymsuite.envs.tasks import parse_tasks

BANDITS = "gymsuite/TwoArmedBandit-v0 p0=0:1 p1=0:1 pulls=5"
# one arm pays 0.9 and the other 0.1, which is which drawn per task: a policy that does not adapt earns 0.5 a pull
EITHER = ("gymsuite/TwoArmedBandit-v0 p0=0.9:0.95 p1=0.05:0.1 pulls=10; "
          "gymsuite/TwoArmedBandit-v0 p0=0.05:0.1 p1=0.9:0.95 pulls=10")


@pytest.fixture(scope="module")
def rl2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("rl2") / "m"
    code = cli.main(["meta", "--family", BANDITS, "--test", BANDITS, "--test-tasks", "3", "--method", "rl2",
                     "--trials", "2", "--timesteps", "1024", "--eval-episodes", "4", "--dir", str(root),
                     "--hyperparams", "n_epochs=1", "--json"])
    assert code == 0
    return root


def test_rl2_writes_results_and_an_ordinary_run(rl2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    results = json.loads((rl2_dir / "results.json").read_text())
    assert results["trials"] == 2 and len(results["test"]) == 3
    assert all(t.startswith("gymsuite/TwoArmedBandit-v0 p0=") and ":" not in t for t in results["test"])  # draws
    row = results["methods"]["rl2"]
    assert row["init"] == "rl2/init" and row["adapted"] == [] and row["trials"] == 2 and "no gradient" in \
        row["adaptation"]
    assert len(row["before"]) == len(row["after"]) == len(row["trial"]) == 3
    for before, after, trial in zip(row["before"], row["after"], row["trial"], strict=True):
        assert 0 <= before <= 5 and 0 <= after <= 5 and 0 <= trial <= 10  # 5 pulls an episode, 2 episodes a trial
    lo, hi = row["trial_iqm"]["ci"]
    assert lo <= row["trial_iqm"]["iqm"] <= hi
    summary = gymsuite.evaluate(rl2_dir / "rl2" / "init", episodes=4)  # the run evaluates like any other
    assert summary["env"] == "gymsuite/Trials-v0" and summary["mean_length"] == 10
    agent = gymsuite.load(rl2_dir / "rl2" / "init")
    assert agent.recurrent  # the LSTM policy


def test_json_prints_one_object(rl2_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    capsys.readouterr()
    code = cli.main(["meta", "--family", BANDITS, "--test", BANDITS, "--test-tasks", "3", "--method", "rl2",
                     "--trials", "2", "--timesteps", "1024", "--eval-episodes", "4", "--dir", str(rl2_dir),
                     "--hyperparams", "n_epochs=1", "--json"])
    assert code == 0 and json.loads(capsys.readouterr().out) == json.loads((rl2_dir / "results.json").read_text())


def test_rl2_learns_to_find_the_paying_arm() -> None:
    """A learning signal: after a short meta-training the policy finds which arm pays within a trial (a policy that
    does not adapt earns 5 in 10 pulls; random arms too)."""
    plan, family, test = make_plan(EITHER, EITHER, "rl2", 10_240, None, test_tasks=2, eval_episodes=16, trials=1,
                                   hyperparams={"n_epochs": 8, "learning_rate": 3e-3})
    from gymsuite.agents.meta.learning import run_meta  # the same path as the command

    root = Path(pytest.importorskip("tempfile").mkdtemp())
    results = run_meta(plan, family, test, root).results
    trial = results["methods"]["rl2"]["trial"]
    assert np.mean(trial) > 6.5, trial


def _bad(tmp_path: Path, capsys: pytest.CaptureFixture[str], args: list[str]) -> str:
    out = tmp_path / "meta"
    given = {"--family": BANDITS, "--test": BANDITS, "--method": "rl2", "--timesteps": "1024", "--dir": str(out)}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    assert cli.main(["meta", *(x for kv in given.items() for x in kv)]) == 2
    assert not out.exists()
    return capsys.readouterr().err


@pytest.mark.parametrize(("args", "words"), [
    (["--trials", "0"], "--trials must be an integer of at least 1"),
    (["--test-tasks", "0"], "--test-tasks must be an integer of at least 1"),
    (["--family", "gymsuite/TwoArmedBandit-v0 p0=0:1.5 p1=0:1"], "p0=1.5 breaks the env: p0 must be in [0, 1]"),
    (["--test", "gymsuite/TwoArmedBandit-v0 p0=-0.5 p1=0.5"], "p0=-0.5 breaks the env: p0 must be in [0, 1]"),
    (["--family", "gymsuite/PixelCartPole-v0 length=0.5x:2x", "--test", "gymsuite/PixelCartPole-v0 length=3x"],
     "RL² appends the previous action, reward and done flag to a vector observation"),
    (["--hyperparams", "backbone=mlp"], "rl2's policy is the lstm backbone"),
    (["--method", "rl2,reptile"], "--adapt-steps is required for reptile"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], words: str) -> None:
    assert words in _bad(tmp_path, capsys, args)


def test_an_algorithm_without_a_recurrent_class_is_refused() -> None:
    plan = MetaPlan((BANDITS,), (BANDITS,), ("rl2",), 1024, 0, algo="a2c")
    with pytest.raises(UserError, match="rl2 needs a recurrent policy, and a2c has no recurrent class"):
        _check_rl2(plan, parse_tasks(BANDITS))


def test_a_stop_between_held_out_tasks_keeps_the_finished_ones_and_the_same_call_continues(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gymsuite.agents.meta import learning, rl2

    plan, family, test = make_plan(BANDITS, BANDITS, "rl2", 1024, None, test_tasks=2, eval_episodes=2,
                                   hyperparams={"n_epochs": 1})
    real, calls = rl2.trial_returns, []

    def stopped_at_the_second(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(args[1].text)
        if len(calls) == 2:
            raise KeyboardInterrupt  # what Ctrl-C raises between runs
        return real(*args, **kwargs)

    monkeypatch.setattr(rl2, "trial_returns", stopped_at_the_second)
    out = learning.run_meta(plan, family, test, tmp_path / "m")
    assert out.interrupted and not (tmp_path / "m" / "results.json").exists()
    assert set(json.loads((tmp_path / "m" / "progress.json").read_text())["rl2"]["after"]) == {"0"}
    monkeypatch.setattr(rl2, "trial_returns", real)
    results = learning.run_meta(plan, family, test, tmp_path / "m").results
    assert len(results["methods"]["rl2"]["trial"]) == 2 and calls == [t.text for t in test]


def test_a_ranged_test_task_stands_for_seeded_unseen_draws() -> None:
    from gymsuite.agents.meta.plan import held_out_tasks
    from gymsuite.envs.tasks import sample_tasks

    first, again, other = ([t.text for t in held_out_tasks(BANDITS, 3, s)] for s in (0, 0, 1))
    assert first == again != other and len(first) == 3 and not any(":" in t for t in first)
    assert not set(first) & {t.text for t in sample_tasks(parse_tasks(BANDITS), 50, 0)}  # not the family's draws
    mixed = held_out_tasks(f"{BANDITS}; gymsuite/TwoArmedBandit-v0 p0=0.1 p1=0.9", 2, 0)
    assert [t.text for t in mixed][2:] == ["gymsuite/TwoArmedBandit-v0 p0=0.1 p1=0.9"] and len(mixed) == 3
