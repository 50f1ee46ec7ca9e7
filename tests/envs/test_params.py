"""Env parameter adapters (gymsuite.envs.params): each changes the physics it names, keeps derived quantities
right, and refuses a parameter the env lacks or a value that breaks it."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.params import SetParams, env_params, find_param, relative_value


def _cartpole_after(values: dict[str, float], actions: list[int], state: tuple[float, ...] = (0, 0, 0.05, 0)
                    ) -> np.ndarray:
    """CartPole's state after ``actions`` from ``state``, with ``values`` set (name -> absolute value)."""
    env = gym.make("CartPole-v1").unwrapped  # no checker: a short pole may end the episode within the steps
    wrapped = SetParams(env, {n: (find_param(env, n, "test"), v) for n, v in values.items()})
    wrapped.reset(seed=0)
    env.unwrapped.state = np.array(state, dtype=np.float64)
    for a in actions:
        wrapped.step(a)
    return np.array(env.unwrapped.state)


def test_a_longer_pole_falls_slower_from_the_same_state() -> None:
    actions = [0, 1] * 5  # no net push: the pole falls under gravity
    nominal, longer = _cartpole_after({}, actions), _cartpole_after({"length": 2.0}, actions)
    assert abs(longer[2]) < abs(nominal[2]) and longer[2] > 0.05  # still falling, but less far
    shorter = _cartpole_after({"length": 0.125}, actions)
    assert abs(shorter[2]) > abs(nominal[2])


def test_a_heavier_cart_moves_less_for_the_same_force() -> None:
    nominal, heavy = _cartpole_after({}, [1] * 5), _cartpole_after({"masscart": 4.0}, [1] * 5)
    assert 0 < heavy[1] < nominal[1] / 2  # the cart's velocity
    stronger = _cartpole_after({"force_mag": 20.0}, [1] * 5)
    assert stronger[1] == pytest.approx(2 * nominal[1], rel=0.1)


def test_gravity_makes_the_pole_fall_faster() -> None:
    actions = [0, 1] * 5
    assert abs(_cartpole_after({"gravity": 19.6}, actions)[2]) > abs(_cartpole_after({}, actions)[2])


def test_cartpole_derived_quantities_stay_consistent() -> None:
    env = gym.make("CartPole-v1")
    params = env_params(env)
    SetParams(env, {"length": (params["length"], 2.0), "masspole": (params["masspole"], 0.3),
                    "masscart": (params["masscart"], 2.0)})
    inner = env.unwrapped
    assert inner.polemass_length == pytest.approx(0.3 * 2.0)
    assert inner.total_mass == pytest.approx(2.3)


def test_other_families_set_what_they_name() -> None:
    pendulum = gym.make("Pendulum-v1")
    SetParams(pendulum, {"g": (find_param(pendulum, "g", "t"), 3.0)})
    assert pendulum.unwrapped.g == 3.0
    car = gym.make("MountainCar-v0")
    assert set(env_params(car)) == {"force", "gravity"}
    lander = gym.make("LunarLander-v3")
    wind, turbulence = find_param(lander, "wind", "t"), find_param(lander, "turbulence", "t")
    assert wind.nominal == 0 and turbulence.nominal == 0  # no wind by default
    SetParams(lander, {"wind": (wind, 10.0)})
    assert lander.unwrapped.enable_wind and lander.unwrapped.wind_power == 10.0
    assert lander.unwrapped.turbulence_power == 0.0  # wind alone, not the default turbulence with it
    with pytest.raises(UserError, match="in \\(-12, 0\\)"):
        find_param(lander, "gravity", "t").value(1.0)


def test_any_env_attribute_or_constructor_keyword() -> None:
    env = gym.make("CartPole-v1")
    tau = find_param(env, "attr:tau", "t")
    assert tau.nominal == 0.02 and tau.value("x2") == pytest.approx(0.04)
    with pytest.raises(UserError, match="has no attr nope"):
        find_param(env, "attr:nope", "t")
    with pytest.raises(UserError, match="sutton_barto"):  # the keywords it has are not listed, its named params are
        find_param(env, "kw:nope", "t")
    assert find_param(env, "kw:sutton_barto_reward", "t").kwarg == "sutton_barto_reward"


def test_relative_values_and_refusals() -> None:
    assert relative_value("x2", 0.5, "v") == 1.0 and relative_value("0.25x", 4, "v") == 1.0
    assert relative_value(3, 1, "v") == 3.0 and relative_value("1.5", 1, "v") == 1.5
    with pytest.raises(UserError, match="bad value"):
        relative_value("twice", 1, "v")
    env = gym.make("CartPole-v1")
    with pytest.raises(UserError, match="CartPoleEnv has length, masspole, masscart, gravity, force_mag") as err:
        find_param(env, "pole_length", "--param")
    assert "no parameter 'pole_length'" in str(err.value)
    with pytest.raises(UserError, match="length must be > 0"):
        find_param(env, "length", "t").value("0x")
    with pytest.raises(UserError, match="gravity must be > 0"):
        find_param(env, "gravity", "t").value(-9.8)


def test_minigrid_size_is_a_whole_constructor_keyword() -> None:
    import minigrid  # noqa: F401  (registers the ids)

    env = gym.make("MiniGrid-Empty-5x5-v0")
    size = find_param(env, "size", "t")
    assert size.kwarg == "size" and size.setter is None and size.nominal == 5
    assert size.value("x2") == 10
    with pytest.raises(UserError, match="whole and >= 5"):
        size.value(4.5)
