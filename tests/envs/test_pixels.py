"""The --pixels wrapper: shapes, stacking, reset, truncation kept, through make_env, clean errors."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymsuite.envs.custom  # noqa: F401  (registers gymsuite/ ids)
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.wrappers.pixels import PixelObservation, PixelOptions, pixel_options


def test_grey_stack_is_channels_last_uint8() -> None:
    env = PixelObservation(gym.make("CartPole-v1", render_mode="rgb_array"), PixelOptions(height=36, width=40,
                                                                                          stack=3))
    obs, _ = env.reset(seed=0)
    assert obs.shape == (36, 40, 3) and obs.dtype == np.uint8 and env.observation_space.contains(obs)
    assert np.array_equal(obs[..., 0], obs[..., 2])  # the reset frame fills the stack
    prev = obs
    for _ in range(3):
        prev, (obs, *_) = obs, env.step(1)
    assert np.array_equal(obs[..., 1], prev[..., 2]) and not np.array_equal(obs[..., 2], prev[..., 2])
    obs, _ = env.reset(seed=1)
    assert np.array_equal(obs[..., 0], obs[..., 2])  # reset clears the old episode's frames
    assert env.render().shape == (400, 600, 3)  # videos still get the env's own frame


def test_rgb_keeps_three_channels_per_frame() -> None:
    env = PixelObservation(gym.make("CartPole-v1", render_mode="rgb_array"), pixel_options({"grey": False,
                                                                                            "stack": 2}))
    assert env.observation_space.shape == (84, 84, 6)
    obs, _ = env.reset(seed=0)
    assert not np.array_equal(obs[..., 0], obs[..., 1])  # red and green of a colour frame differ


def test_through_make_env_with_time_limit_truncation_kept() -> None:
    venv = make_env("CartPole-v1", n_envs=2, seed=0, options=EnvOptions.parse(
        {"max_episode_steps": 4, "pixels": {"height": 16, "width": 24, "stack": 2}}))
    try:
        assert venv.reset().shape == (2, 16, 24, 2)
        for _ in range(4):
            _, _, dones, infos = venv.step(np.array([0, 1]))
        assert dones.all() and all(info["TimeLimit.truncated"] for info in infos)
        assert infos[0]["terminal_observation"].shape == (16, 24, 2)
    finally:
        venv.close()


def test_env_without_rgb_array_is_a_user_error() -> None:
    with pytest.raises(UserError) as err:
        PixelObservation(gym.make("CartPole-v1"), PixelOptions())
    assert "rgb_array" in err.value.message and err.value.hint


@pytest.mark.parametrize(("value", "where"), [({"hieght": 64}, "height"), ({"stack": 0}, "stack"),
                                              ("yes", "pixels"), ({"grey": "no"}, "grey")])
def test_bad_options_are_user_errors(value: object, where: str) -> None:
    with pytest.raises(UserError) as err:
        pixel_options(value)
    assert where in err.value.message + (err.value.hint or "")
