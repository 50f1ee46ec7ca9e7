"""PixelCartPole: image shape and bounds, CartPole's own dynamics underneath (its frame rate: benchmarks/pixels.py)."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

import gymsuite.envs.custom  # noqa: F401  (registers gymsuite/ ids)
from gymsuite.common.errors import UserError


def test_observation_is_two_uint8_frames_within_bounds() -> None:
    env = gym.make("gymsuite/PixelCartPole-v0", render_mode="rgb_array")
    obs, _ = env.reset(seed=0)
    assert obs.shape == (48, 72, 2) and obs.dtype == np.uint8
    assert env.observation_space.contains(obs)
    assert np.array_equal(obs[..., 0], obs[..., 1])  # no motion before the first step
    assert obs.max() == 255 and 0 < (obs[..., 1] > 100).sum() < 48 * 72 // 10  # cart and pole, thin
    for _ in range(5):
        obs, *_ = env.step(1)
    assert not np.array_equal(obs[..., 0], obs[..., 1])  # motion shows between the frames
    frame = env.render()
    assert frame.shape == (192, 288, 3) and np.array_equal(frame[::4, ::4, 0], obs[..., 1])


def test_the_pole_is_drawn_at_its_angle() -> None:
    """Tilt the pole right: the bright pixels above the cart move right of the cart's centre."""
    env = gym.make("gymsuite/PixelCartPole-v0").unwrapped
    env.reset(seed=0)
    centre = []
    for theta in (-0.2, 0.0, 0.2):
        env.state = np.array([0.0, 0.0, theta, 0.0])
        frame = env._draw()
        rows, cols = np.nonzero(frame[:20] > 100)  # the upper part of the image: the pole only
        centre.append(cols.mean())
    assert centre[0] < centre[1] - 3 < centre[2] - 6


def test_state_follows_cartpole_dynamics_for_same_seed_and_actions() -> None:
    pixel, plain = gym.make("gymsuite/PixelCartPole-v0"), gym.make("CartPole-v1")
    pixel.reset(seed=3)
    plain.reset(seed=3)
    rng = np.random.default_rng(0)
    for _ in range(30):
        a = int(rng.integers(2))
        _, r1, t1, _, _ = pixel.step(a)
        plain_obs, r2, t2, _, _ = plain.step(a)
        np.testing.assert_allclose(pixel.unwrapped.state, plain_obs, rtol=1e-6)
        assert (r1, t1) == (r2, t2)
        if t1:
            break


def test_the_target_domain_is_the_same_cartpole_recoloured_as_documented() -> None:
    """gymsuite/PixelCartPoleRecolored-v0: a textured mid-grey ground, a dark cart and pole; the same states."""
    from gymsuite.envs.custom.pixel_cartpole import TARGET_LOOK, TEXTURE_CELL

    source, target = gym.make("gymsuite/PixelCartPole-v0"), gym.make("gymsuite/PixelCartPoleRecolored-v0")
    s_obs, _ = source.reset(seed=4)
    t_obs, _ = target.reset(seed=4)
    for _ in range(3):
        s_obs, *_ = source.step(1)
        t_obs, *_ = target.step(1)
    np.testing.assert_array_equal(source.unwrapped.state, target.unwrapped.state)
    assert s_obs.shape == t_obs.shape and s_obs.dtype == t_obs.dtype
    frame = t_obs[..., -1].astype(float) / 255
    ground = s_obs[..., -1] == 0  # pixels no shape covers
    low, high = TARGET_LOOK["background"] - TARGET_LOOK["texture"], TARGET_LOOK["background"] + TARGET_LOOK["texture"]
    np.testing.assert_allclose(np.unique(np.round(frame[ground], 2)), [low, high], atol=0.01)  # the checkerboard
    assert frame[0, 0] != frame[0, TEXTURE_CELL]  # neighbouring cells differ
    shapes = s_obs[..., -1] == 255  # fully covered by the cart or the pole in the source look
    np.testing.assert_allclose(frame[shapes], TARGET_LOOK["pole"], atol=0.01)  # dark where the source is white


def test_the_look_is_an_env_parameter_set_between_episodes() -> None:
    from gymsuite.envs.params import SetParams, env_params, find_param

    env = gym.make("gymsuite/PixelCartPole-v0")
    assert {"background", "texture", "track", "cart", "pole", "length"} <= set(env_params(env))
    param = find_param(env, "background", "--param")
    assert param.nominal == 0 and param.valid() == "in [0, 1]"
    wrapped = SetParams(env, {"background": (param, 0.5)})
    obs, _ = wrapped.reset(seed=0)
    assert np.median(obs) == int(0.5 * 255)
    with pytest.raises(UserError, match=r"in \[0, 1\]"):
        param.value(1.5)


def test_the_look_is_randomised_per_episode() -> None:
    """``randomize={background: [0, 0.8]}``: each episode draws its own background level."""
    from gymsuite.envs.wrappers.randomize import RandomizeParams, randomize_options

    options = randomize_options({"background": [0, 0.8]})
    assert options is not None
    env = RandomizeParams(gym.make("gymsuite/PixelCartPole-v0"), options)
    levels = []
    for seed in range(4):
        obs, _ = env.reset(seed=seed)
        levels.append(int(np.median(obs)))
        assert levels[-1] == int(env.unwrapped.background * 255)
    assert len(set(levels)) == 4 and all(0 <= v <= int(0.8 * 255) for v in levels)
