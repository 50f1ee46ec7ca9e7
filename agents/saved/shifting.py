"""Domain shift: a saved agent's return over a grid of env parameters (``gymsuite shift``).

    gymsuite shift runs/cp --param length=0.25x:4x:7 --log --episodes 10 --seeds 5

Each axis is ``NAME=LOW:HIGH:N`` (N values, evenly spaced, or log-spaced with ``--log``; LOW and HIGH absolute
or multiples of the nominal value, ``0.25x``); one axis gives a curve, two a grid (a heat map). At every grid point
the agent acts in its own env (:func:`gymsuite.agents.saved.loading.make_agent_env`: its observation pipeline and
normalisation) with the parameters set by :class:`gymsuite.envs.params.SetParams` at every reset (constructor
keywords, ``kw:NAME`` and MiniGrid's ``size``, through the env's ``env_kwargs``), for ``episodes`` episodes under
each of ``seeds`` env seeds. A point's figure is the IQM over seeds of the per-seed mean return, with its
bootstrap interval (:mod:`gymsuite.common.stats`).

Shapes: P grid points (the product of the axes' N), S seeds.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.agents.saved.evaluation import run_episodes, warn_capped
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.common import stats
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import Wrapper, make_one
from gymsuite.envs.params import EnvParam, SetParams, find_param
from gymsuite.envs.target import resolve_env

MAX_AXES = 2
SEED_STRIDE = 1000  # seed s plays its episodes with env seeds base + s * SEED_STRIDE + copy


@dataclass(frozen=True)
class Axis:
    """One parameter of the grid and its values (absolute, checked against the env)."""

    param: EnvParam
    values: tuple[float, ...]

    @property
    def name(self) -> str:
        return self.param.name


def parse_axis(agent: LoadedAgent, text: str, log: bool = False) -> Axis:
    """``NAME=LOW:HIGH:N`` as an :class:`Axis` of the agent's env (``--log``: log-spaced values).

    Raises:
        UserError: bad form, a parameter the env lacks (listing those it has), N < 2, a value that breaks the env,
            a log scale over values not above 0.
    """
    fix = "write --param NAME=LOW:HIGH:N, e.g. --param length=0.25x:4x:7"
    name, eq, rest = text.partition("=")
    parts = rest.rsplit(":", 2)
    if not eq or not name or len(parts) != 3:
        raise UserError(f"bad --param {text!r}", fix)
    param = find_param(_probe(agent), name.strip(), "--param")
    try:
        n = int(parts[2])
    except ValueError:
        raise UserError(f"bad --param {text!r}: N={parts[2]!r} is not a whole number", fix) from None
    if n < 2:
        raise UserError(f"--param {text}: N={n} gives no grid (at least 2 values)", fix)
    low, high = (param.value(v, f"--param {name}") for v in parts[:2])
    if log and min(low, high) <= 0:
        raise UserError(f"--param {text}: a log-spaced grid needs values above 0", "drop --log")
    grid = np.geomspace(low, high, n) if log else np.linspace(low, high, n)
    if param.integer:  # a grid of whole values (MiniGrid's size): each one once
        grid = np.unique(np.round(grid))
    values = [param.check(float(v), f"--param {name}") for v in grid]
    return Axis(param, tuple(values))


def _probe(agent: LoadedAgent) -> Any:
    """One env of the agent's (its ``env_kwargs``), to read its parameters from; refused for a multi-agent env."""
    if agent.env is None:
        raise UserError("no environment known for this model", "pass --env ENV")
    target = resolve_env(agent.env)
    if target.multiagent:
        raise UserError(f"{agent.env} is a multi-agent env: gymsuite shift varies single-agent envs' parameters",
                        "shift a single-agent run")
    env = make_one(agent.env, env_kwargs=dict(agent.env_options.env_kwargs))
    env.close()
    return env


def check_axes(axes: Sequence[Axis]) -> None:
    """One or two axes, each parameter once."""
    if not 1 <= len(axes) <= MAX_AXES:
        raise UserError(f"{len(axes)} --param given: a shift grid has 1 or {MAX_AXES} axes",
                        "pass --param NAME=LOW:HIGH:N once (a curve) or twice (a heat map)")
    names = [a.name for a in axes]
    twice = [n for i, n in enumerate(names) if n in names[:i]]
    if twice:
        raise UserError(f"--param {twice[0]} given twice", "vary each parameter on one axis")


def shift(agent: LoadedAgent, axes: Sequence[Axis], episodes: int = 10, seeds: int = 5, seed: int = 0,
          deterministic: bool = True, max_episode_steps: int | None = None, n_envs: int = 4) -> dict[str, Any]:
    """The agent's return at every point of the grid of ``axes``.

    Returns:
        ``params`` (names), ``values`` (name -> its axis), ``nominal`` (name -> value), ``mean_return`` (the IQM
        over seeds of the per-seed mean return: a list over the one axis, or ``[i][j]`` for two), ``ci_low``/
        ``ci_high`` (its 95% bootstrap interval, same shape), ``points`` (each point's values, ``iqm``, ``ci``,
        ``per_seed`` ``(S,)`` and ``mean`` over all episodes), ``episodes``, ``seeds``, ``deterministic``,
        ``capped_episodes``, ``algo``, ``env``.
    """
    check_axes(axes)
    if episodes < 1 or seeds < 1:
        raise UserError(f"--episodes and --seeds must be at least 1, got {episodes} and {seeds}")
    points: list[dict[str, Any]] = []
    played: list[dict[str, Any]] = []
    figures: list[tuple[float, float, float]] = []  # (P,) of (iqm, low, high)
    for combo in itertools.product(*(a.values for a in axes)):
        values = {a.name: (a.param, v) for a, v in zip(axes, combo, strict=True)}
        kwargs = {p.kwarg: int(v) if p.integer else v for p, v in values.values() if p.kwarg is not None}
        per_seed = []
        for s in range(seeds):
            venv = make_agent_env(agent, seed=seed + s * SEED_STRIDE, n_envs=min(n_envs, episodes),
                                  wrappers=[_setting(values)], max_episode_steps=max_episode_steps,
                                  env_kwargs=kwargs)
            try:
                eps = run_episodes(agent, venv, episodes, deterministic)
            finally:
                venv.close()
            played += eps
            per_seed.append(float(np.mean([e["r"] for e in eps])))
        low, high = stats.iqm_ci(per_seed)
        figures.append((stats.iqm(per_seed), low, high))
        points.append({"values": dict(zip([a.name for a in axes], combo, strict=True)), "iqm": figures[-1][0],
                       "ci": [low, high], "mean": float(np.mean(per_seed)), "per_seed": per_seed})
    capped = warn_capped(played, "shift")
    shape = [len(a.values) for a in axes]
    table_ = np.array(figures).reshape(*shape, 3)  # (N0[, N1], 3)
    grid = {key: table_[..., k].tolist() for k, key in enumerate(("mean_return", "ci_low", "ci_high"))}
    return {"params": [a.name for a in axes], "values": {a.name: list(a.values) for a in axes},
            "nominal": {a.name: None if math.isnan(a.param.nominal) else a.param.nominal for a in axes}, **grid,
            "points": points, "episodes": episodes, "seeds": seeds, "deterministic": deterministic,
            "capped_episodes": capped, "algo": agent.algo, "env": agent.env}


def _setting(values: dict[str, tuple[EnvParam, float]]) -> Wrapper:
    """The wrapper that sets ``values`` at every reset."""
    def wrap(env: gym.Env) -> gym.Env:
        return SetParams(env, values)

    return wrap


def table(result: dict[str, Any]) -> list[str]:
    """The result as text lines: one row per grid point, ``IQM [low, high]`` over seeds."""
    names = result["params"]
    lines = [f"return of {result['algo']} on {result['env']} over {result['seeds']} seeds x {result['episodes']} "
             "episodes: IQM over seeds [95% bootstrap interval]",
             "  " + "".join(f"{n:>12s}" for n in names) + f"  {'return':>26s}"]
    for point in result["points"]:
        cells = "".join(f"{_num(point['values'][n]):>12s}" for n in names)
        nominal = all(result["nominal"].get(n) is not None and math.isclose(point["values"][n], result["nominal"][n])
                      for n in names)
        band = f"{point['iqm']:.1f} [{point['ci'][0]:.1f}, {point['ci'][1]:.1f}]"
        lines.append(f"  {cells}  {band:>26s}" + ("  (nominal)" if nominal else ""))
    return lines


def _num(value: float) -> str:
    return f"{value:.4g}"


__all__ = ["MAX_AXES", "Axis", "check_axes", "parse_axis", "shift", "table"]
