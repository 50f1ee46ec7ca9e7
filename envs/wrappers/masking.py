"""Partial observability by masking: classic-control observations without their velocities.

:class:`MaskVelocity` drops the velocity entries of an env's ``Box`` observation, so that one
observation no longer tells the state: an agent needs memory (a window of observations,
an LSTM, a transformer) to infer what it cannot see. The kept entries keep their order and
their ``low``/``high``; the observation becomes ``(len(kept),)`` of the env's dtype.

One table, :data:`KEPT`, by the id's name without namespace or version:

* CartPole: keeps x and theta, drops x_dot and theta_dot;
* Pendulum: keeps cos and sin of the angle, drops theta_dot;
* MountainCar, MountainCarContinuous: keep the position, drop the velocity;
* Acrobot: keeps the four cos/sin, drops the two angular velocities;
* LunarLander, LunarLanderContinuous: keep x, y, the angle and the two leg contacts, drop vx, vy and
  the angular velocity.

The ``mask_velocity: true`` hyperparameter puts it innermost (:mod:`gymsuite.envs.observation`), and the
registered ids ``gymsuite/CartPoleNoVel-v0`` and ``gymsuite/PendulumNoVel-v0``
(:mod:`gymsuite.envs.custom.no_velocity`) are CartPole and Pendulum seen through it.
"""

from __future__ import annotations

from typing import Any

import gymnasium as gym
import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError

_LANDER = (8, (0, 1, 4, 6, 7))
_TABLE: dict[str, tuple[int, tuple[int, ...]]] = {  # name: (observation size, entries kept)
    "CartPole": (4, (0, 2)),
    "Pendulum": (3, (0, 1)),
    "MountainCar": (2, (0,)),
    "MountainCarContinuous": (2, (0,)),
    "Acrobot": (6, (0, 1, 2, 3)),
    "LunarLander": _LANDER,
    "LunarLanderContinuous": _LANDER,
}
KEPT: dict[str, tuple[int, ...]] = {name: kept for name, (_, kept) in _TABLE.items()}
"""The observation entries :class:`MaskVelocity` keeps, by env name (velocities are the others)."""


def env_name(env: gym.Env) -> str | None:
    """The id's name without namespace or version (``"CartPole"`` for ``CartPole-v1``), or None without an id."""
    spec = env.spec
    return spec.name if spec is not None else None


class MaskVelocity(gym.ObservationWrapper):
    """Drop the velocity entries of a classic-control observation (:data:`KEPT` says which stay).

    Args:
        env: a registered env named in :data:`KEPT` (its ``spec`` gives the name).
        name: the table row to use instead of the env's id (for an entry point that wraps an
            env before ``gym.make`` gives it an id).

    Raises:
        UserError: an env not in :data:`KEPT`, or whose observation is not the flat ``Box`` the table expects.
    """

    def __init__(self, env: gym.Env, name: str | None = None) -> None:
        super().__init__(env)
        name = name or env_name(env)
        label = env.spec.id if env.spec is not None else type(env.unwrapped).__name__
        if name not in KEPT:
            raise UserError(f"mask_velocity does not know which entries of {label} are velocities",
                            f"it masks {', '.join(sorted(KEPT))}; for another env drop mask_velocity "
                            "(or write an ObservationWrapper for it)")
        space = env.observation_space
        if not isinstance(space, spaces.Box) or space.shape != (_TABLE[name][0],):
            raise UserError(f"mask_velocity expects {label}'s ({_TABLE[name][0]},) Box observation, got {space}",
                            "put mask_velocity on the plain env (not with pixels or another observation wrapper)")
        self.kept = np.array(KEPT[name], dtype=np.intp)
        self.observation_space = spaces.Box(space.low[self.kept], space.high[self.kept], dtype=space.dtype)

    def observation(self, observation: Any) -> np.ndarray:
        return np.asarray(observation)[self.kept]
