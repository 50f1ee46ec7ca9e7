"""Meta-learning end to end: seeded task sampling, a tiny Reptile / multitask / scratch run, its resume, the errors."""

from __future__ import annotations

import json
import os
import signal
from pathlib import Path

import pytest
import torch

from gymsuite.agents.meta import learning
from gymsuite.agents.meta.plan import make_plan
from gymsuite.agents.run.continual import read_memory
from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import cli
from gymsuite.common.errors import UserError
from gymsuite.envs.tasks import parse_tasks, sample_tasks

FAMILY = "CartPole-v1 length=0.5x:2x masspole=0.5x:2x"
TEST = "CartPole-v1 length=3x; CartPole-v1 length=0.25x"
FAST = {"n_epochs": 2}
ARGS = dict(seed=0, meta_batch=2, inner_steps=1024, eval_episodes=2, hyperparams=FAST)
POLICY = "mlp_extractor.policy_net.0.weight"


def _weights(run_dir: Path) -> dict[str, torch.Tensor]:
    agent = load_agent(str(run_dir))
    assert agent.model is not None
    return agent.model.policy.state_dict()


@pytest.fixture(scope="module")
def meta_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("meta") / "m"
    plan, family, test = make_plan(FAMILY, TEST, "reptile,multitask,scratch", 4096, 1024, **ARGS)
    assert plan.iterations == 2
    assert not learning.run_meta(plan, family, test, root).interrupted
    return root


def test_task_sampling_is_seeded() -> None:
    family = parse_tasks(FAMILY)
    first, again, other = (sample_tasks(family, 4, s) for s in (7, 7, 8))
    assert [t.text for t in first] == [t.text for t in again] != [t.text for t in other]
    for task in first:  # every value inside its range
        values = {k: float(v.rstrip("x")) for k, v in task.modifiers}
        assert all(0.5 <= v <= 2.0 for v in values.values()) and set(values) == {"length", "masspole"}


def test_meta_run_writes_results_an_init_and_adapted_runs(meta_dir: Path) -> None:
    results = json.loads((meta_dir / "results.json").read_text())
    assert list(results["methods"]) == ["reptile", "multitask", "scratch"] and results["iterations"] == 2
    for method, row in results["methods"].items():
        assert len(row["before"]) == len(row["after"]) == 2
        lo, hi = row["after_iqm"]["ci"]
        assert lo <= row["after_iqm"]["iqm"] <= hi and min(row["after"]) <= lo
        init, adapted = _weights(meta_dir / row["init"]), _weights(meta_dir / row["adapted"][0])
        start = read_memory(meta_dir / method / "memory" / "task_0.pt")["policy"]
        assert torch.equal(init[POLICY], start[POLICY])  # the init run holds the initialisation the runs adapt
        assert not torch.equal(init[POLICY], adapted[POLICY])  # adaptation trained from it
    reptile, scratch = (_weights(meta_dir / m / "init")[POLICY] for m in ("reptile", "scratch"))
    assert not torch.equal(reptile, scratch)  # meta-training moved the seed's initialisation
    state = read_memory(meta_dir / "reptile" / "memory" / "task_0.pt")
    assert state["iteration"] == 2  # the sampler: seed and iteration
    assert state["tasks"] == [[t.text for t in sample_tasks(parse_tasks(FAMILY), 2, k)] for k in (0, 1)]
    config = (meta_dir / "reptile" / "adapted_0" / "config.yaml").read_text()
    assert "CartPole-v1 length=3x" in config and str((meta_dir / "reptile" / "memory").resolve()) in config


def test_resume_between_iterations_ends_where_the_uninterrupted_run_ends(meta_dir: Path, tmp_path: Path) -> None:
    plan, family, test = make_plan(FAMILY, TEST, "reptile,multitask,scratch", 4096, 1024, **ARGS)

    def ctrl_c_after_first(k: int) -> None:
        if k == 0:
            os.kill(os.getpid(), signal.SIGINT)

    out = learning.run_meta(plan, family, test, tmp_path / "m", on_iteration=ctrl_c_after_first)
    assert out.interrupted and out.signum == signal.SIGINT
    assert read_memory(tmp_path / "m" / "reptile" / "memory" / "task_0.pt")["iteration"] == 1
    assert not (tmp_path / "m" / "results.json").exists()
    resumed = learning.run_meta(plan, family, test, tmp_path / "m").results
    whole = json.loads((meta_dir / "results.json").read_text())
    assert resumed["methods"] == whole["methods"]
    final = read_memory(meta_dir / "reptile" / "memory" / "task_0.pt")["policy"]
    again = read_memory(tmp_path / "m" / "reptile" / "memory" / "task_0.pt")["policy"]
    assert all(torch.equal(final[k], again[k]) for k in final)


def test_fomaml_moves_the_initialisation_by_query_gradients_and_adapts(tmp_path: Path, temp_dir: Path) -> None:
    plan, family, test = make_plan(FAMILY, "CartPole-v1 length=3x", "fomaml,scratch", 4096, 1024, **ARGS)
    results = learning.run_meta(plan, family, test, tmp_path / "fo").results
    assert not list(temp_dir.glob("SB3-*"))  # the inner loops' learn() logged nowhere else
    fomaml = read_memory(tmp_path / "fo" / "fomaml" / "memory" / "task_0.pt")
    scratch = read_memory(tmp_path / "fo" / "scratch" / "memory" / "task_0.pt")["policy"]
    assert fomaml["iteration"] == 2 and len(results["methods"]["fomaml"]["after"]) == 1
    moved = [float((fomaml["policy"][k] - scratch[k]).abs().max()) for k in scratch]
    assert 0 < max(moved) < 0.5  # from the seed's initialisation, by SGD steps on clipped (norm 0.5) gradients
    adapted = _weights(tmp_path / "fo" / "fomaml" / "adapted_0")
    assert not torch.equal(adapted[POLICY], fomaml["policy"][POLICY])


def test_json_prints_one_object(meta_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["meta", "--family", FAMILY, "--test", TEST, "--method", "reptile,multitask,scratch",
                     "--timesteps", "4096", "--adapt-steps", "1024", "--dir", str(meta_dir), "--meta-batch", "2",
                     "--inner-steps", "1024", "--eval-episodes", "2", "--hyperparams", "n_epochs=2", "--json"])
    assert code == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == json.loads((meta_dir / "results.json").read_text())


def test_other_plan_in_the_same_dir_is_refused(meta_dir: Path) -> None:
    plan, family, test = make_plan(FAMILY, TEST, "scratch", 4096, 1024, **ARGS)
    with pytest.raises(UserError, match="another meta-learning run"):
        learning.run_meta(plan, family, test, meta_dir)


@pytest.mark.parametrize(("args", "words"), [
    (["--test", "CartPole-v1 length=1.5x"], "lies inside the training family"),
    (["--test", "CartPole-v1 length=0.75 masspole=1x"], "lies inside the training family"),  # absolute 0.75 m
    (["--family", "CartPole-v1 length=2x"], "no LOW:HIGH range"),
    (["--family", f"{FAMILY}; CartPole-v1 gravity=15", "--test", "CartPole-v1 gravity=15"], "(the same task)"),
    (["--test", "Acrobot-v1"], "observation space"),
    (["--test", "CartPole-v1 lenght=3x"], "no parameter 'lenght'"),
    (["--method", "maml"], "not built"),
    (["--method", "reptle"], "unknown method"),
    (["--adapt-steps", "0"], "--adapt-steps must be an integer of at least 1"),
    (["--meta-batch", "0"], "--meta-batch must be"),
    (["--timesteps", "100"], "less than one meta-iteration"),
    (["--step-size", "1.5"], "--step-size must be in (0, 1]"),
    (["--hyperparams", "n_epochs=0"], "n_epochs"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], words: str) -> None:
    out = tmp_path / "meta"
    given = {"--family": FAMILY, "--test": "CartPole-v1 length=3x", "--method": "reptile", "--timesteps": "4096",
             "--adapt-steps": "512", "--dir": str(out)}
    given.update(dict(zip(args[::2], args[1::2], strict=True)))
    assert cli.main(["meta", *(x for kv in given.items() for x in kv)]) == 2
    assert words in capsys.readouterr().err and not out.exists()


def test_sigterm_between_runs_exits_143_and_the_same_command_continues(tmp_path: Path,
                                                                        monkeypatch: pytest.MonkeyPatch) -> None:
    real, out = learning._method, tmp_path / "m"

    def terminated_at_scratch(plan, method, *rest):  # type: ignore[no-untyped-def]
        if method == "scratch":
            os.kill(os.getpid(), signal.SIGTERM)
        return real(plan, method, *rest)

    args = ["meta", "--family", FAMILY, "--test", "CartPole-v1 length=3x", "--method", "multitask,scratch",
            "--timesteps", "1024", "--adapt-steps", "1024", "--dir", str(out), "--eval-episodes", "2",
            "--hyperparams", "n_epochs=2"]
    monkeypatch.setattr(learning, "_method", terminated_at_scratch)
    assert cli.main(args) == 128 + signal.SIGTERM
    assert json.loads((out / "progress.json").read_text()).keys() == {"multitask"}
    monkeypatch.setattr(learning, "_method", real)
    assert cli.main(args) == 0 and set(json.loads((out / "results.json").read_text())["methods"]) == {
        "multitask", "scratch"}


ML1 = "metaworld:ML1/reach-v3 task=0:49"
TINY = {"n_envs": 1, "n_steps": 64, "batch_size": 64, "n_epochs": 1}  # PPO's Box policy, one 64-step rollout


def test_meta_on_ml1_reach_reports_success_rates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    pytest.importorskip("metaworld")
    out = tmp_path / "ml1"
    args = ["meta", "--family", ML1, "--test", "metaworld:ML1/reach-v3 split=test task=0:1", "--method",
            "reptile,scratch", "--timesteps", "128", "--adapt-steps", "64", "--meta-batch", "2", "--inner-steps", "64",
            "--eval-episodes", "1", "--dir", str(out), "--hyperparams", *(f"{k}={v}" for k, v in TINY.items())]
    assert cli.main(args) == 0
    assert "success rate" in capsys.readouterr().out
    results = json.loads((out / "results.json").read_text())
    assert results["test"] == [f"metaworld:ML1/reach-v3 split=test task={k}" for k in (0, 1)]
    for row in results["methods"].values():
        for when in ("before", "after"):
            rates = row[f"success_{when}"]
            assert len(rates) == 2 and all(r in (0.0, 1.0) for r in rates)  # one episode per task: 0 or 1
            assert row[f"success_{when}_mean"] == sum(rates) / 2
    agent = load_agent(str(out / "reptile" / "adapted_0"))
    assert agent.model is not None and agent.model.action_space.shape == (4,)  # continuous: PPO's Box policy
    assert agent.model.observation_space.shape == (39,)


def test_ml1_held_out_goals_must_come_from_the_test_split() -> None:
    pytest.importorskip("metaworld")
    with pytest.raises(UserError, match="lies inside the training family"):
        make_plan(ML1, "metaworld:ML1/reach-v3 task=5", "scratch", 64, 64)
    with pytest.raises(UserError, match="lies inside the training family"):  # the default split, spelt out
        make_plan(ML1, "metaworld:ML1/reach-v3 split=train task=5", "scratch", 64, 64)
    with pytest.raises(UserError, match="lies inside the training family"):
        make_plan(ML1, "metaworld:ML1/reach-v3 task=0", "scratch", 64, 64)
    with pytest.raises(UserError, match="whole numbers"):
        make_plan(ML1, "metaworld:ML1/reach-v3 split=test task=0:2.5", "scratch", 64, 64)
