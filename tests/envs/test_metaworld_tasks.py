"""Meta-World tasks in the task spec: the goal a spec builds, seeded sampling, success in info, the missing extra."""

from __future__ import annotations

import builtins
import pickle
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

import gymsuite
from gymsuite.agents.saved.evaluation import evaluate
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.envs import metaworld as mw
from gymsuite.envs.tasks import (
    TASK_ENV_ID,
    build_task,
    check_tasks,
    expand_tasks,
    parse_task,
    parse_tasks,
    resolve_task,
    sample_tasks,
    task_env_kwargs,
)

pytest.importorskip("metaworld")
from metaworld.policies import SawyerReachV3Policy  # noqa: E402  (after the skip)


def _env(spec: str) -> Any:
    return build_task(resolve_task(parse_task(spec)))


def test_a_spec_builds_its_goal_and_the_test_split_holds_other_goals() -> None:
    import metaworld

    bench = metaworld.ML1("reach-v3", seed=0)  # the benchmark gymsuite builds: goal_seed 0
    train, test = bench.train_tasks, bench.test_tasks
    envs = [_env(s) for s in ("metaworld:ML1/reach-v3 task=3", "metaworld:ML1/reach-v3 task=3",
                              "metaworld:ML1/reach-v3 split=test task=3", "metaworld:ML1/reach-v3 task=4")]
    goals = [e.unwrapped.goal for e in envs]
    assert np.array_equal(goals[0], goals[1])  # the same spec: the same goal, in any process (goal_seed)
    assert not np.array_equal(goals[0], goals[2]) and not np.array_equal(goals[0], goals[3])
    def goal(task: Any) -> np.ndarray:
        return pickle.loads(task.data)["rand_vec"]  # Meta-World's own task data, in memory

    assert np.array_equal(goals[0], goal(train[3])) and np.array_equal(goals[2], goal(test[3]))
    assert len(mw.goals("ML1", "reach-v3", "test")[1]) == len(test) == 50
    train_goals = {tuple(goal(t)) for t in train}
    assert not any(tuple(goal(t)) in train_goals for t in test)  # held out by construction
    assert envs[0].observation_space.shape == (39,) and envs[0].action_space.shape == (4,)
    for env in envs:
        env.close()


def test_a_multi_task_benchmark_is_built_once_for_all_its_environments(monkeypatch: pytest.MonkeyPatch) -> None:
    import metaworld

    made: list[tuple[Any, ...]] = []

    class Counted(metaworld.MT10):  # type: ignore[misc]
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            made.append(args)
            super().__init__(*args, **kwargs)

    monkeypatch.setattr(metaworld, "MT10", Counted)
    mw._built.cache_clear()
    reach, push = mw.goals("MT10", "reach-v3"), mw.goals("MT10", "push-v3")  # MT10 takes about 10 s to build
    assert made == [()] and reach[0] is not push[0] and reach[1][0].env_name == "reach-v3"
    mw._built.cache_clear()


def test_a_family_samples_whole_goal_indices_seeded() -> None:
    family = parse_tasks("metaworld:ML1/reach-v3 task=0:49")
    first, again, other = (sample_tasks(family, 8, s) for s in (3, 3, 4))
    assert [t.text for t in first] == [t.text for t in again] != [t.text for t in other]
    indices = [int(dict(t.modifiers)["task"]) for t in first + other]
    assert all(0 <= k <= 49 for k in indices) and all(dict(t.modifiers)["task"].isdigit() for t in first)
    held_out = expand_tasks(parse_tasks("metaworld:ML1/reach-v3 split=test task=0:2"))
    assert [t.text for t in held_out] == [f"metaworld:ML1/reach-v3 split=test task={k}" for k in range(3)]


def test_episodes_truncate_at_500_and_success_is_carried_and_kept() -> None:
    env = gym.make(TASK_ENV_ID, tasks="metaworld:MT1/reach-v3 task=3")  # MT: the goal is observed
    policy = SawyerReachV3Policy()
    obs, info = env.reset(seed=0)
    assert info["is_success"] is False
    steps, reached, left = 0, None, None
    while True:  # the scripted policy reaches the goal, then the hand moves away from it
        action = policy.get_action(obs) if reached is None or steps < reached + 5 else np.array([0, -1, 1, 0.0])
        obs, _, terminated, truncated, info = env.step(action)
        steps += 1
        assert info["task"] == 0 and info["success"] in (0.0, 1.0)
        if info["success"] and reached is None:
            reached = steps
        if reached is not None and not info["success"] and left is None:
            left = steps
            assert info["is_success"] is True  # once reached, the episode has succeeded
        assert not terminated
        if truncated:
            break
    assert steps == 500 and reached is not None and left is not None and info["is_success"] is True
    env.reset(seed=1)
    assert env.step(np.zeros(4))[4]["is_success"] is False  # a new episode starts unsucceeded
    env.close()


class _Expert:
    """Meta-World's scripted reach policy as an evaluation actor (one action per env)."""

    def act(self, obs: np.ndarray, venv: Any, deterministic: bool = True, *, episode_start: np.ndarray) -> np.ndarray:
        return np.stack([SawyerReachV3Policy().get_action(o) for o in obs])


def test_evaluate_reports_the_share_of_episodes_that_succeeded() -> None:
    agent = load_agent("random", env=TASK_ENV_ID)
    kwargs = task_env_kwargs([parse_task("metaworld:MT1/reach-v3 task=3")])
    venv = make_agent_env(agent, seed=0, n_envs=2, env_kwargs=kwargs)
    try:
        expert = evaluate(agent, venv, 2, actor=_Expert())
    finally:
        venv.close()
    assert expert["success_rate"] == 1.0 and expert["episodes"] == 2 and expert["mean_length"] == 500
    cartpole = load_agent("random", env="CartPole-v1")
    venv = make_agent_env(cartpole, seed=0, n_envs=1)
    try:
        assert "success_rate" not in evaluate(cartpole, venv, 2)  # an env that reports no success has none
    finally:
        venv.close()


@pytest.mark.parametrize(("spec", "words"), [
    ("metaworld:ML1/reach-v3 task=50", "task=50"),
    ("metaworld:ML1/reech-v3", "reach-v3"),
    ("metaworld:MT10/push-v3 split=test", "no test split"),
    ("metaworld:ML1/reach-v3 split=valid", "split"),
    ("metaworld:XX/reach-v3", "unknown benchmark"),
    ("metaworld:reach-v3", "BENCHMARK/ENV"),
    ("metaworld:ML1/reach-v3 goal=1", "split, task, goal_seed"),
])
def test_bad_meta_world_specs_name_the_problem(spec: str, words: str) -> None:
    with pytest.raises(UserError) as error:
        check_tasks(parse_tasks(spec), "x")
    assert words in str(error.value)  # the message and its fix


def test_a_goal_range_must_be_whole() -> None:
    with pytest.raises(UserError, match="whole"):
        sample_tasks(parse_tasks("metaworld:ML1/reach-v3 task=0:4.5"), 2, 0)
    with pytest.raises(UserError, match="whole"):
        expand_tasks(parse_tasks("metaworld:ML1/reach-v3 split=test task=0x:2x"))


def test_missing_metaworld_names_the_extra(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    real = builtins.__import__

    def no_metaworld(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "metaworld" or name.startswith("metaworld."):
            raise ImportError("No module named 'metaworld'")
        return real(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_metaworld)
    with pytest.raises(UserError) as error:
        check_tasks(parse_tasks("metaworld:ML1/reach-v3 task=1"), "x")
    assert "gymsuite[metaworld]" in str(error.value.hint)
    with pytest.raises(UserError, match="metaworld"):
        gymsuite.meta("metaworld:ML1/reach-v3 task=0:49", "metaworld:ML1/reach-v3 split=test task=0", "scratch",
                      64, 64, tmp_path / "meta")
    assert not (tmp_path / "meta").exists()
