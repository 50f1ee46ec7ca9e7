"""The env factory (ids, module:Class, file.py:Class, callables), the checker and the NaN guard."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from common.errors import UserError
from envs import make_env, make_one
from envs.check import check
from envs.custom import SparseGridEnv
from tests.toy_envs import TOY_FILE


@pytest.fixture
def broken_file() -> Path:
    return TOY_FILE


def test_registered_id_builds_seeded_vec_env() -> None:
    a, b = make_env("CartPole-v1", n_envs=3, seed=7), make_env("CartPole-v1", n_envs=3, seed=7)
    obs_a, obs_b = a.reset(), b.reset()
    assert obs_a.shape == (3, 4)
    np.testing.assert_array_equal(obs_a, obs_b)
    assert not np.allclose(obs_a[0], obs_a[1])  # each copy has its own seed


def test_unknown_id_suggests_close_matches() -> None:
    with pytest.raises(UserError, match="unknown environment id 'CartPol-v1'") as err:
        make_env("CartPol-v1")
    assert "CartPole-v1" in str(err.value)


def test_module_class_file_class_and_callable_resolve(tmp_path: Path) -> None:
    assert isinstance(make_one("envs.custom.sparse_grid:SparseGridEnv").unwrapped, SparseGridEnv)
    assert isinstance(make_one(SparseGridEnv, env_kwargs={"size": 3}).unwrapped, SparseGridEnv)
    assert make_one("gymsuite/SparseGrid-v0").spec.max_episode_steps == 200
    user = tmp_path / "my_env.py"
    user.write_text("from envs.custom.sparse_grid import SparseGridEnv as MyEnv\n")
    env = make_one(f"{user}:MyEnv", env_kwargs={"size": 4})
    assert env.unwrapped.size == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:Env", "cannot import module 'no_such_module_xyz'"),
        ("envs.custom.sparse_grid:Nope", "has no attribute 'Nope'"),
        ("missing/file.py:Env", "does not exist"),
    ],
)
def test_bad_custom_specs_name_the_problem(spec: str, message: str) -> None:
    with pytest.raises(UserError, match=message):
        make_one(spec)


def test_checker_reports_old_step_api(broken_file: Path) -> None:
    report = check(f"{broken_file}:OldApiEnv")
    assert not report.ok
    assert any("4" in p or "step" in p for p in report.problems), report.text()


def test_checker_reports_nan_and_out_of_space(broken_file: Path) -> None:
    assert any("finite" in p for p in check(f"{broken_file}:NanEnv").problems)
    assert any("outside observation_space" in p for p in check(f"{broken_file}:OutOfSpaceEnv").problems)
    assert check("gymsuite/SparseGrid-v0", render=True).ok


def test_nan_reward_stops_training_env_with_clear_error(broken_file: Path) -> None:
    venv = make_env(f"{broken_file}:NanEnv", n_envs=1)
    venv.reset()
    with pytest.raises(UserError, match="non-finite reward"):
        venv.step(np.array([0]))


def test_sparse_grid_reaches_goal_and_renders() -> None:
    env = gym.make("gymsuite/SparseGrid-v0", size=3, render_mode="rgb_array")
    env.reset(seed=0)
    rewards = [env.step(a)[1] for a in (0, 0, 1)]
    _, reward, terminated, _, info = env.step(1)
    assert rewards == [0.0, 0.0, 0.0] and reward == 1.0 and terminated and info["distance"] == 0
    assert env.render().shape[2] == 3


def test_monitor_records_env_reward_outside_reward_wrappers() -> None:
    venv = make_env("CartPole-v1", n_envs=1, seed=0,
                    reward_wrappers=[lambda e: gym.wrappers.TransformReward(e, lambda r: 10 * r)])
    venv.reset()
    total, info = 0.0, {}
    for _ in range(600):
        _, reward, done, infos = venv.step(np.array([0]))
        total += reward[0]
        if done[0]:
            info = infos[0]
            break
    assert info["episode"]["r"] * 10 == pytest.approx(total)
