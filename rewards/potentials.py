"""Potential functions ``Phi(obs, info) -> float`` for potential-based shaping, built-in and user-given.

A good potential grows as the agent gets closer to solving the task; potential-based
shaping then rewards *progress* (``gamma * Phi(s') - Phi(s)``) rather than *being* somewhere.
The built-ins are scaled to roughly ``[-1, 1]`` so that ``weight`` alone sets the strength.
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common import legacy
from gymsuite.common.errors import UserError, closest_hint

Potential = Callable[[np.ndarray, dict[str, Any]], float]


def mountaincar_height(obs: np.ndarray, info: dict[str, Any]) -> float:
    """The car's height on the hill, ``sin(3 x)`` rescaled to ``[0, 1]`` (obs: position, velocity)."""
    return float((np.sin(3.0 * obs[0]) + 1.0) / 2.0)


def mountaincar_energy(obs: np.ndarray, info: dict[str, Any]) -> float:
    """The car's mechanical energy, ``(sin(3 x) + 600 v^2 + 1) / 2``: about 0 at rest in the valley, 1 at the flag.

    MountainCar's dynamics ``v' = v + 0.001 F - 0.0025 cos(3x)`` conserve
    ``v^2 / 2 + (0.0025 / 3) sin(3x)`` when ``F = 0``; dividing by ``0.0025 / 3`` gives
    ``600 v^2 + sin(3x)``. Pushing *with* the velocity raises it, which is what swinging up takes.
    """
    return float((np.sin(3.0 * obs[0]) + 600.0 * obs[1] ** 2 + 1.0) / 2.0)


def sparsegrid_distance(obs: np.ndarray, info: dict[str, Any]) -> float:
    """Minus the Manhattan distance to the goal corner, in ``[-1, 0]`` (obs[:2]: ``(x, y)`` scaled to [0, 1])."""
    return float(-((1.0 - obs[0]) + (1.0 - obs[1])) / 2.0)


def cartpole_upright(obs: np.ndarray, info: dict[str, Any]) -> float:
    """``1 - |angle| / 0.2095``: 1 upright, 0 at the failure angle (obs[2] is the pole angle)."""
    return float(1.0 - abs(obs[2]) / 0.2095)


def acrobot_height(obs: np.ndarray, info: dict[str, Any]) -> float:
    """Height of the tip, ``-cos(a) - cos(a + b)``, halved to ``[-1, 1]`` (obs: cos a, sin a, cos b, sin b, ...)."""
    cos_a, sin_a, cos_b, sin_b = obs[:4]
    return float((-cos_a - (cos_a * cos_b - sin_a * sin_b)) / 2.0)


def pendulum_upright(obs: np.ndarray, info: dict[str, Any]) -> float:
    """``cos(theta)``: 1 upright, -1 hanging (obs[0] is ``cos(theta)``)."""
    return float(obs[0])


@dataclass(frozen=True)
class Builtin:
    """A named potential, the observation size it expects (``dims``, or at least ``dims``) and its envs."""

    fn: Potential
    dims: int
    envs: str
    at_least: bool = False

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> float:
        return self.fn(obs, info)


BUILTIN: dict[str, Builtin] = {
    "mountaincar_height": Builtin(mountaincar_height, 2, "MountainCar-v0, MountainCarContinuous-v0"),
    "mountaincar_energy": Builtin(mountaincar_energy, 2, "MountainCar-v0, MountainCarContinuous-v0"),
    "sparsegrid_distance": Builtin(sparsegrid_distance, 2, "gymsuite/SparseGrid-v0, gymsuite/NoisyTVGrid-v0",
                                   at_least=True),
    "cartpole_upright": Builtin(cartpole_upright, 4, "CartPole-v1"),
    "acrobot_height": Builtin(acrobot_height, 6, "Acrobot-v1"),
    "pendulum_upright": Builtin(pendulum_upright, 3, "Pendulum-v1"),
}


@dataclass(frozen=True)
class _ObsOnly:
    """Adapts ``Phi(obs)`` to ``Phi(obs, info)`` (a class, not a lambda, so it pickles)."""

    fn: Callable[[np.ndarray], float]

    def __call__(self, obs: np.ndarray, info: dict[str, Any]) -> float:
        return self.fn(obs)


def resolve(potential: str | Callable[..., float]) -> Potential:
    """Turn a built-in name, ``"package.module:function"`` or a callable into ``Phi(obs, info)``.

    Raises:
        UserError: an unknown name (with close matches) or a module/function that cannot be found.
    """
    if isinstance(potential, str):
        if potential in BUILTIN:
            return BUILTIN[potential]
        if ":" not in potential:
            raise UserError(f"unknown potential {potential!r}",
                            closest_hint(potential, BUILTIN, "built-ins", n=2) + " (or give package.module:function)")
        module_name, _, attr = potential.partition(":")
        try:
            potential = getattr(legacy.import_module(module_name), attr)
        except (ImportError, AttributeError) as err:
            raise UserError(f"cannot load potential {potential!r}: {err}",
                            "check the module and function names") from err
    if not callable(potential):
        raise UserError(f"potential {potential!r} is not callable", "give Phi(obs, info) -> float or a built-in name")
    try:
        positional = [p for p in inspect.signature(potential).parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty]
    except (TypeError, ValueError):
        return potential
    return _ObsOnly(potential) if len(positional) == 1 else potential


def check_space(potential: Potential, space: gym.Space, term: str) -> None:
    """Raise when a built-in potential cannot read ``space`` (the wrong env's potential)."""
    if not isinstance(potential, Builtin):
        return
    shape = getattr(space, "shape", None)
    size_ok = shape is not None and len(shape) == 1 and (
        shape[0] >= potential.dims if potential.at_least else shape[0] == potential.dims)
    if not isinstance(space, gym.spaces.Box) or not size_ok:
        name = next(n for n, b in BUILTIN.items() if b == potential)  # terms are deep-copied per env
        raise UserError(f"shaping term {term!r}: potential {name!r} reads {potential.dims} observation entries "
                        f"(it is meant for {potential.envs}), but this env observes {space}",
                        "choose a potential for this env, or write your own Phi(obs, info)")
