"""The env factory (ids, module:Class, file.py:Class, callables), the checker and the NaN guard."""

from __future__ import annotations

import importlib.util
import sys
from collections.abc import Iterator
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.envs import factory
from gymsuite.envs.check import check
from gymsuite.envs.custom import SparseGridEnv
from gymsuite.envs.factory import make_env, make_one
from gymsuite.envs.trainable import UNTRAINABLE_FIX, untrainable_parts
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
    assert "did you mean 'CartPole-v1'" in str(err.value)


def test_unknown_ids_are_told_in_one_wording_wherever_they_are_looked_up() -> None:
    from gymsuite.envs.atari import game_of

    with pytest.raises(UserError) as atari:
        game_of("ALE/Pongg-v5")
    with pytest.raises(UserError) as package:
        make_env("gymnasium.envs.classic_control:CartPol-v1")
    assert "did you mean 'ALE/Pong-v5'" in atari.value.hint
    assert "did you mean 'CartPole-v1'" in package.value.hint


def test_module_class_file_class_and_callable_resolve(tmp_path: Path) -> None:
    assert isinstance(make_one("gymsuite.envs.custom.sparse_grid:SparseGridEnv").unwrapped, SparseGridEnv)
    assert isinstance(make_one(SparseGridEnv, env_kwargs={"size": 3}).unwrapped, SparseGridEnv)
    assert make_one("gymsuite/SparseGrid-v0").spec.max_episode_steps == 200
    user = tmp_path / "my_env.py"
    user.write_text("from gymsuite.envs.custom.sparse_grid import SparseGridEnv as MyEnv\n")
    env = make_one(f"{user}:MyEnv", env_kwargs={"size": 4})
    assert env.unwrapped.size == 4


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("no_such_module_xyz:Env", "cannot import module 'no_such_module_xyz'"),
        ("gymsuite.envs.custom.sparse_grid:Nope", "has no attribute 'Nope'"),
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


@pytest.fixture
def registering_package(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A package on ``sys.path`` that registers two ids when imported, as minigrid or ale_py do."""
    name = "fake_registering_pkg"
    (tmp_path / name).mkdir()
    (tmp_path / name / "__init__.py").write_text(
        "import gymnasium\n"
        f"gymnasium.register('{name}/Counter-v0', entry_point='gymsuite.envs.custom.sparse_grid:SparseGridEnv')\n"
        "gymnasium.register('FakeGrid-Empty-v0', entry_point='gymsuite.envs.custom.sparse_grid:SparseGridEnv')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    yield name
    for env_id in (f"{name}/Counter-v0", "FakeGrid-Empty-v0"):
        gym.registry.pop(env_id, None)
    sys.modules.pop(name, None)


def test_an_id_in_a_package_namespace_imports_the_package(registering_package: str) -> None:
    venv = make_env(f"{registering_package}/Counter-v0", n_envs=2)
    assert len(venv.reset()) == 2 and isinstance(venv.envs[0].unwrapped, SparseGridEnv)
    venv.close()


def test_an_id_with_a_known_prefix_imports_its_package(registering_package: str,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(UserError):
        make_one("FakeGrid-Empty-v0")
    monkeypatch.setitem(factory.PACKAGES_BY_PREFIX, "FakeGrid-", registering_package)
    assert isinstance(make_one("FakeGrid-Empty-v0").unwrapped, SparseGridEnv)


def test_the_package_colon_id_form(registering_package: str) -> None:
    assert isinstance(make_one(f"{registering_package}:FakeGrid-Empty-v0").unwrapped, SparseGridEnv)


def test_an_id_whose_package_is_missing_names_the_package(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(factory.PACKAGES_BY_PREFIX, "AbsentGrid-", "absent_grid_pkg")
    with pytest.raises(UserError) as err:
        make_one("AbsentGrid-Empty-v0")
    assert err.value.hint is not None and "absent_grid_pkg" in err.value.hint
    if importlib.util.find_spec("minigrid") is None:
        with pytest.raises(UserError) as err:
            make_one("MiniGrid-Empty-8x8-v0")
        assert err.value.hint is not None and "minigrid" in err.value.hint


@pytest.mark.parametrize(
    ("space", "parts"),
    [
        (spaces.Box(0, 1, (3,)), 0),
        (spaces.Dict({"image": spaces.Box(0, 255, (7, 7, 3), np.uint8), "pos": spaces.Discrete(4)}), 0),
        (spaces.Dict({"image": spaces.Box(0, 255, (7, 7, 3), np.uint8), "mission": spaces.Text(10)}), 1),
        (spaces.Dict({"path": spaces.Sequence(spaces.Discrete(3)), "net": spaces.Graph(spaces.Box(0, 1, (2,)), None)}),
         2),
        (spaces.Dict({"inner": spaces.Dict({"x": spaces.Discrete(2)})}), 1),
        (spaces.Tuple((spaces.Discrete(2), spaces.Text(5))), 2),
    ],
)
def test_untrainable_observation_parts_are_found(space: spaces.Space, parts: int) -> None:
    assert len(untrainable_parts(space)) == parts


def test_checker_and_factory_refuse_a_text_sub_space() -> None:
    report = check(f"{TOY_FILE}:TextMission")
    assert not report.ok and "'mission'" in report.problems[0]
    with pytest.raises(UserError) as err:
        make_env(f"{TOY_FILE}:TextMission")
    assert err.value.hint == UNTRAINABLE_FIX
