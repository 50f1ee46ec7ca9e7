"""CartPole and Pendulum without their velocities (``gymsuite/CartPoleNoVel-v0``, ``gymsuite/PendulumNoVel-v0``).

The standard partially observable control tasks for memory (as in sb3-contrib's and
rl-baselines3-zoo's ``CartPoleNoVel-v1``): gymnasium's own dynamics, rewards and ends, seen
through :class:`gymsuite.envs.wrappers.masking.MaskVelocity`.

* ``CartPoleNoVel``: observation ``(2,)`` float32 = (x, theta); 500 steps, solved at 475.
* ``PendulumNoVel``: observation ``(2,)`` float32 = (cos theta, sin theta); 200 steps.

``render_mode="rgb_array"`` passes through to the env, so videos show the usual picture.
"""

from __future__ import annotations

import gymnasium as gym
from gymnasium.envs.classic_control.cartpole import CartPoleEnv
from gymnasium.envs.classic_control.pendulum import PendulumEnv

from gymsuite.envs.wrappers.masking import MaskVelocity


def cartpole_no_velocity(render_mode: str | None = None) -> gym.Env:
    """CartPole whose observation is (x, theta)."""
    return MaskVelocity(CartPoleEnv(render_mode=render_mode), "CartPole")


def pendulum_no_velocity(render_mode: str | None = None, g: float = 10.0) -> gym.Env:
    """Pendulum whose observation is (cos theta, sin theta); ``g`` is gravity, as in ``Pendulum-v1``."""
    return MaskVelocity(PendulumEnv(render_mode=render_mode, g=g), "Pendulum")
