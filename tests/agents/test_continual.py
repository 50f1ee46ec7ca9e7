"""Continual learning: the course's metrics on a hand-computed R, a short sequence end to end, its resume, the
command's errors."""

from __future__ import annotations

import dataclasses
import json
import os
import signal
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.agents.continual import sequence
from gymsuite.agents.continual.metrics import sequence_metrics
from gymsuite.agents.run import training
from gymsuite.agents.run.continual import ContinualPenalty, continual_options, read_memory
from gymsuite.agents.saved.loading import load_agent
from gymsuite.commands import cli

TASKS = "CartPole-v1; CartPole-v1 permute=3,2,1,0"
FAST = {"n_epochs": 2, "n_envs": 8}  # rollouts of 256 steps (the zoo's CartPole width): PackNet prunes within 512


def test_metrics_match_a_hand_computed_matrix() -> None:
    r = np.array([[10.0, 20.0, 30.0],  # untrained
                  [100.0, 40.0, 30.0],  # after task 1
                  [60.0, 200.0, 50.0],  # after task 2
                  [40.0, 150.0, 300.0]])  # after task 3
    low, high = [0.0, 0.0, 0.0], [100.0, 200.0, 300.0]
    m = sequence_metrics(r, low, high)
    assert m["average_performance"] == pytest.approx((40 + 150 + 300) / 3)
    assert m["backward_transfer"] == pytest.approx(((40 - 100) + (150 - 200)) / 2)  # R[T,i] - R[i,i], i < T
    assert m["forward_transfer"] == pytest.approx(((40 - 20) + (50 - 30)) / 2)  # R[i-1,i] - R[0,i], i > 1
    assert m["backward_transfer_normalized"] == pytest.approx(((0.4 - 1.0) + (0.75 - 1.0)) / 2)
    assert m["forgetting"] == pytest.approx(((1.0 - 0.4) + (1.0 - 0.75)) / 2)
    assert m["average_performance_normalized"] == pytest.approx((0.4 + 0.75 + 1.0) / 3)
    assert np.allclose(m["normalized"][0], [0.1, 0.1, 0.1])


def _run(root: Path, method: str = "ewc", callbacks: tuple[BaseCallback, ...] = ()) -> sequence.Outcome:
    plan, tasks = sequence.make_plan(TASKS, method, 256, seed=0, hyperparams=FAST, eval_episodes=2)
    return sequence.run_continual(plan, tasks, root, callbacks)


@pytest.fixture(scope="module")
def ewc_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("continual") / "ewc"
    assert not _run(root).interrupted
    return root


def test_sequence_writes_runs_memories_and_results(ewc_dir: Path) -> None:
    results = json.loads((ewc_dir / "results.json").read_text())
    assert np.asarray(results["matrix"]).shape == (3, 2) and results["rows"][0] == "initial"
    assert results["runs"] == ["task_0", "task_1"]
    for key in ("average_performance", "backward_transfer", "forward_transfer", "forgetting"):
        assert np.isfinite(results[key])
    agent = load_agent(str(ewc_dir / "task_1"))  # an ordinary run directory: the task comes with it
    assert agent.hyperparams["env_kwargs"] == {"tasks": "CartPole-v1 permute=3,2,1,0 taskid=1/2"}
    assert agent.hyperparams["continual"]["method"] == "ewc"
    memory = read_memory(ewc_dir / "memory" / "task_0.pt")
    assert memory["states"].shape == (1000, 6) and memory["probs"].shape == (1000, 2)  # 4 entries + a 2-task id
    assert np.all(memory["states"][:, 4:].numpy() == [1, 0])  # task 0's states
    assert all(float(f.min()) >= 0 for f in memory["fisher"].values())


def test_ewc_run_starts_at_the_old_task_with_zero_penalty(ewc_dir: Path) -> None:
    plan, tasks = sequence.make_plan(TASKS, "ewc", 256, hyperparams=FAST)
    cfg = sequence._config(plan, tasks[1:], 1, ewc_dir, 256)
    built = training.prepare(cfg)
    try:
        opts = continual_options(cfg.hyperparams)
        assert opts is not None
        memory = read_memory(ewc_dir / "memory" / "task_0.pt")
        for name, value in built.model.policy.state_dict().items():
            assert torch.equal(value, memory["policy"][name])
        assert float(ContinualPenalty(built.model, opts).loss().detach()) == 0.0
        for method in ("l2", "replay"):  # the old policy itself: no distance, no divergence
            other = dataclasses.replace(opts, method=method)
            assert float(ContinualPenalty(built.model, other).loss().detach()) == pytest.approx(0.0, abs=1e-6)
        l2 = ContinualPenalty(built.model, dataclasses.replace(opts, method="l2"))
        with torch.no_grad():
            for p in l2.actor.values():
                p.add_(0.1)
        size = sum(p.numel() for p in l2.actor.values())
        assert float(l2.loss().detach()) == pytest.approx(0.5 * 0.01 * size, rel=1e-4)  # 1/2 sum (theta - theta_b)^2
    finally:
        built.venv.close()


def test_resume_between_tasks_ends_where_the_uninterrupted_run_ends(ewc_dir: Path, tmp_path: Path,
                                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    real = sequence._stage

    def stop_at_task_1(plan, tasks, i, root, progress, callbacks):  # type: ignore[no-untyped-def]
        if i == 1:
            raise KeyboardInterrupt
        return real(plan, tasks, i, root, progress, callbacks)

    monkeypatch.setattr(sequence, "_stage", stop_at_task_1)
    first = _run(tmp_path / "cl")
    assert first.interrupted and first.task == 1 and not (tmp_path / "cl" / "results.json").exists()
    monkeypatch.setattr(sequence, "_stage", real)
    again = _run(tmp_path / "cl")
    assert again.results["matrix"] == json.loads((ewc_dir / "results.json").read_text())["matrix"]


class _StopOnce(BaseCallback):
    """Ctrl-C in the middle of the second task's run (the same callback goes to every task's run)."""

    fired = False

    def __init__(self) -> None:
        super().__init__()
        self.runs = 0

    def _on_training_start(self) -> None:
        self.runs += 1

    def _on_step(self) -> bool:
        if not _StopOnce.fired and self.runs == 2 and self.num_timesteps >= 128:
            _StopOnce.fired = True
            raise KeyboardInterrupt
        return True


def test_resume_within_a_task_finishes_the_sequence(tmp_path: Path) -> None:
    first = _run(tmp_path / "cl", "finetune", callbacks=(_StopOnce(),))
    assert _StopOnce.fired and first.interrupted and first.task == 1
    assert list((tmp_path / "cl" / "task_1" / "checkpoints").glob("ckpt_*.zip"))
    again = _run(tmp_path / "cl", "finetune")
    assert not again.interrupted and np.asarray(again.results["matrix"]).shape == (3, 2)
    # a mid-rollout stop resumes with a whole rollout (PPO trains in rollouts): statistically, not bit for bit, the same
    assert json.loads((tmp_path / "cl" / "task_1" / "eval.json").read_text())["timesteps"] >= 256


@pytest.mark.parametrize(("args", "words"), [
    (["--tasks", "CartPole-v1", "--method", "ewc"], "at least two tasks"),
    (["--tasks", "CartPole-v1; CartPole-v1 lenght=2", "--method", "ewc"], "no parameter 'lenght'"),
    (["--tasks", "CartPole-v1; Acrobot-v1", "--method", "replay"], "observation space"),
    (["--tasks", TASKS, "--method", "ewc", "--algo", "dqn"], "on-policy actor-critic"),
    (["--tasks", TASKS, "--method", "ewc", "--hyperparams", "n_epochs=0"], "n_epochs"),
])
def test_bad_input_exits_2_and_writes_nothing(tmp_path: Path, capsys: pytest.CaptureFixture[str],
                                              args: list[str], words: str) -> None:
    out = tmp_path / "cl"
    assert cli.main(["continual", *args, "--steps-per-task", "256", "--dir", str(out)]) == 2
    assert words in capsys.readouterr().err and not out.exists()


def test_other_plan_in_the_same_dir_is_refused(ewc_dir: Path) -> None:
    with pytest.raises(sequence.UserError, match="another continual sequence"):
        sequence.run_continual(*sequence.make_plan(TASKS, "l2", 256, hyperparams=FAST, eval_episodes=2), ewc_dir)


def test_json_prints_one_object(ewc_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = cli.main(["continual", "--tasks", TASKS, "--method", "ewc", "--steps-per-task", "256", "--dir",
                     str(ewc_dir), "--eval-episodes", "2", "--hyperparams", "n_epochs=2", "n_envs=8", "--json"])
    assert code == 0
    assert json.loads(capsys.readouterr().out)["matrix"] == json.loads((ewc_dir / "results.json").read_text())["matrix"]


def test_packnet_freezes_each_tasks_weights_through_the_later_tasks(tmp_path: Path) -> None:
    tasks = "CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 signflip=true"
    plan, parsed = sequence.make_plan(tasks, "packnet", 512, hyperparams=FAST, eval_episodes=2)
    results = sequence.run_continual(plan, parsed, tmp_path / "pn").results
    assert np.asarray(results["matrix"]).shape == (4, 3)
    memories = [read_memory(tmp_path / "pn" / "memory" / f"task_{k}.pt") for k in range(3)]
    final = memories[2]["policy"]
    for k in range(2):
        for name, owner in memories[k]["owner"].items():
            mine = owner == k
            assert mine.any()
            assert torch.equal(final[name][mine], memories[k]["policy"][name][mine])  # unchanged by later tasks
            assert torch.equal(memories[2]["owner"][name][mine], owner[mine])
    for name in ("mlp_extractor.policy_net.0.bias", "action_net.bias"):  # trained on the first task only
        assert torch.equal(final[name], memories[0]["policy"][name])
    w = "mlp_extractor.policy_net.2.weight"  # 64 x 64, every input live on every task
    owner = memories[2]["owner"][w]
    assert abs(int((owner == 0).sum()) - 64 * 64 / 3) <= 1  # task 0 keeps a third, task 1 half of the rest
    assert abs(int((owner == 1).sum()) - int((memories[1]["owner"][w] == -1).sum())) <= 1
    for name, owner in memories[2]["owner"].items():  # what no task kept is zero (an input a task never sees)
        assert not final[name][owner == -1].any()


def test_a_minigrid_sequence_is_tasks_too_and_gets_no_vector_task_id() -> None:
    plan, tasks = sequence.make_plan("MiniGrid-Empty-Random-6x6-v0; MiniGrid-Empty-Random-6x6-v0 size=8", "ewc", 512)
    assert not plan.task_ids and [t.text for t in tasks] == list(plan.tasks)
    env = gym.make("gymsuite/Tasks-v0", tasks=tasks[1].text)
    assert env.unwrapped.envs[0].unwrapped.width == 8  # type: ignore[attr-defined]
    assert env.observation_space == gym.make("gymsuite/Tasks-v0", tasks=tasks[0].text).observation_space


def test_sigterm_between_tasks_exits_143_and_the_same_command_continues(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    real, out = sequence._stage, tmp_path / "cl"

    def terminated_at_task_1(plan, tasks, i, root, progress, callbacks):  # type: ignore[no-untyped-def]
        if i == 1:
            os.kill(os.getpid(), signal.SIGTERM)
        return real(plan, tasks, i, root, progress, callbacks)

    args = ["continual", "--tasks", TASKS, "--method", "finetune", "--steps-per-task", "256", "--dir", str(out),
            "--eval-episodes", "2", "--hyperparams", "n_epochs=2"]
    monkeypatch.setattr(sequence, "_stage", terminated_at_task_1)
    assert cli.main(args) == 128 + signal.SIGTERM
    assert json.loads((out / "progress.json").read_text())["rows"].keys() == {"0"}
    monkeypatch.setattr(sequence, "_stage", real)
    assert cli.main(args) == 0 and (out / "results.json").is_file()


def test_progressive_columns_of_earlier_tasks_stay_as_they_were(tmp_path: Path) -> None:
    tasks = "CartPole-v1; CartPole-v1 permute=3,2,1,0; CartPole-v1 signflip=true"
    plan, parsed = sequence.make_plan(tasks, "progressive", 256, hyperparams=FAST, eval_episodes=2)
    results = sequence.run_continual(plan, parsed, tmp_path / "pg").results
    r = np.asarray(results["matrix"])
    assert r.shape == (4, 3) and r[3, 0] == r[2, 0] == r[1, 0] and r[3, 1] == r[2, 1]  # no forgetting, by design
    first = load_agent(str(tmp_path / "pg" / "task_0")).model
    last = load_agent(str(tmp_path / "pg" / "task_2")).model
    assert first is not None and last is not None
    old, new = first.policy.state_dict(), last.policy.state_dict()
    column0 = [k for k in old if ".columns.0." in k]
    assert column0 and all(torch.equal(old[k], new[k]) for k in column0)
    assert any(".columns.2." in k for k in new) and any(".laterals.2." in k for k in new)
    trainable = [n for n, p in last.policy.named_parameters() if p.requires_grad and "features_extractor" in n]
    assert trainable and all(".columns.2." in n or ".laterals.2." in n for n in trainable)


@pytest.mark.parametrize("tasks", ["CartPole-v1 permute=3,2,1,0 taskid=1/2",  # one task of a sequence
                                   "CartPole-v1 taskid=0/2; CartPole-v1 permute=3,2,1,0 taskid=1/2"])  # multitask
def test_a_task_run_killed_after_a_checkpoint_resumes_to_identical_parameters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tasks: str) -> None:
    from gymsuite.agents.files.rundir import RunDir
    from gymsuite.agents.run import callbacks
    from gymsuite.agents.run.config import build_config

    class KilledError(Exception):
        pass

    cfg = build_config({"algo": "ppo", "env": "gymsuite/Tasks-v0", "n_envs": 4, "timesteps": 512,
                        "checkpoint_freq": 256, "eval_freq": 0, "eval_episodes": 2}, None,
                       ["n_steps=32", "batch_size=64", "n_epochs=2", f"env_kwargs={{tasks: '{tasks}'}}"])
    whole = training.train(cfg, tmp_path / "whole")
    save = callbacks.save_checkpoint

    def save_then_die(*args: object, **kwargs: object) -> int:
        save(*args, **kwargs)  # type: ignore[arg-type]
        raise KilledError

    monkeypatch.setattr(callbacks, "save_checkpoint", save_then_die)
    with pytest.raises(KilledError):
        training.train(cfg, tmp_path / "killed")
    monkeypatch.setattr(callbacks, "save_checkpoint", save)
    assert RunDir(tmp_path / "killed").latest_checkpoint() == 256
    resumed = training.resume(tmp_path / "killed")
    assert resumed.steps == whole.steps and resumed.eval["returns"] == whole.eval["returns"]
    a, b = load_agent(str(tmp_path / "whole")).model, load_agent(str(tmp_path / "killed")).model
    assert a is not None and b is not None
    for name, value in a.policy.state_dict().items():
        assert torch.equal(value, b.policy.state_dict()[name]), name


def test_a_meta_world_sequence_reports_success_rates(tmp_path: Path) -> None:
    pytest.importorskip("metaworld")
    tiny = {"n_envs": 1, "n_steps": 64, "batch_size": 64, "n_epochs": 1}
    plan, tasks = sequence.make_plan("metaworld:MT10/reach-v3; metaworld:MT10/push-v3", "finetune", 64,
                                     hyperparams=tiny, eval_episodes=1)
    assert plan.task_ids and [t.text for t in tasks][1] == "metaworld:MT10/push-v3 taskid=1/2"  # 39 + 2 entries
    results = sequence.run_continual(plan, tasks, tmp_path / "cw").results
    success = results["success"]
    assert np.asarray(success["matrix"]).shape == (3, 2) == np.asarray(results["matrix"]).shape
    assert all(v in (0.0, 1.0) for row in success["matrix"] for v in row)  # one episode per cell
    assert success["average_performance"] == float(np.mean(success["matrix"][-1]))
    assert success["forgetting"] == success["matrix"][1][0] - success["matrix"][2][0]
