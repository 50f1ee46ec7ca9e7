"""Reward shaping: extra rewards of our own for tasks whose reward is almost always 0.

Two forms, both ``gymnasium.Wrapper``s that add *terms* to the environment's reward:

* **Potential-based** (:class:`PotentialShaping`): ``F(s, s') = gamma * Phi(s') - Phi(s)``
  with ``Phi(s') = 0`` when ``s'`` is terminal. Over an episode the terms telescope,
  ``sum_t gamma^t F_t = gamma^T Phi(s_T) - Phi(s_0)``, so every policy's return changes by
  the same ``-Phi(s_0)`` and the optimal policy is provably unchanged (Ng, Harada & Russell,
  "Policy invariance under reward transformations", ICML 1999). ``gamma`` must be the agent's.
* **Term-based** (:class:`TermShaping`), as the VizDoom winners did: a table of named,
  weighted terms: a living penalty per step, progress on a quantity, the level of a
  quantity, events read from ``info``. These carry no such guarantee: a badly chosen term
  is exploited (see ``docs/reward_shaping.md``).

Every wrapper keeps the environment's own reward in ``info["env_reward"]`` and reports each
term in ``info["shaping"][name]``; at the end of an episode ``info["episode_shaping"][name]``
holds the episode's (undiscounted) sum of each term. :func:`load_shaping` reads the YAML format.

Shapes: O is the observation's shape; a quantity read from ``obs`` indexes the flattened ``(O,)``.
"""

from __future__ import annotations

import copy
import functools
import math
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import gymnasium as gym
import numpy as np
import yaml
from stable_baselines3.common.callbacks import BaseCallback

from gymsuite.common.errors import UserError
from gymsuite.common.files import load_yaml
from gymsuite.common.options import Rule, check_keys, check_value, option, rules
from gymsuite.rewards import potentials
from gymsuite.rewards.env_reward import record_env_reward
from gymsuite.rewards.potentials import Potential


class Term(Protocol):
    """One named shaping term. Stateful (one instance per env): :class:`TermShaping` copies it."""

    name: str

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        """Start an episode at ``obs``."""

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        """The term's reward for the transition that led to ``obs``."""


@dataclass(frozen=True)
class Source:
    """Where a term reads its quantity: ``info[key]`` or ``obs.flatten()[index]``."""

    kind: str  # "info" or "obs"
    key: str | int

    def read(self, obs: np.ndarray, info: dict[str, Any], term: str) -> float:
        if self.kind == "obs":
            return float(np.asarray(obs).reshape(-1)[int(self.key)])
        if self.key not in info:
            raise UserError(f"shaping term {term!r} reads info[{self.key!r}], which this env does not provide",
                            f"info keys available: {', '.join(map(str, info)) or 'none'}")
        return float(info[self.key])

    def __str__(self) -> str:
        return f"{self.kind}[{self.key!r}]"


@dataclass
class PotentialTerm:
    """``weight * (gamma * Phi(s') - Phi(s))``, with ``Phi(s') = 0`` on termination (not on truncation).

    On truncation (a time limit) the task would have gone on, and the agent bootstraps
    from ``V(s')``, so ``Phi(s')`` keeps its value there.
    """

    name: str
    potential: Potential
    gamma: float
    weight: float = 1.0
    _last: float = field(default=0.0, init=False, repr=False)

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self._last = float(self.potential(obs, info))

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        phi = 0.0 if terminated else float(self.potential(obs, info))
        shaped = self.weight * (self.gamma * phi - self._last)
        self._last = phi
        return shaped


@dataclass
class LivingTerm:
    """``weight`` every step (negative: a living penalty that urges the agent to finish)."""

    name: str
    weight: float

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        pass

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        return self.weight


@dataclass
class ProgressTerm:
    """``weight * (x(s') - x(s))``: the change of a quantity (like a potential with gamma = 1, never zeroed)."""

    name: str
    source: Source
    weight: float
    _last: float = field(default=0.0, init=False, repr=False)

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self._last = self.source.read(obs, info, self.name)

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        x = self.source.read(obs, info, self.name)
        shaped, self._last = self.weight * (x - self._last), x
        return shaped


@dataclass
class LevelTerm:
    """``weight * x(s')`` every step, or ``weight`` while ``x(s') < below`` / ``x(s') > above``.

    Not potential-based: rewarding a *state* every step is what agents learn to exploit.
    """

    name: str
    source: Source
    weight: float
    below: float | None = None
    above: float | None = None

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        self.source.read(obs, info, self.name)  # fail at reset, not mid-episode, on a missing key

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        x = self.source.read(obs, info, self.name)
        if self.below is not None:
            x = float(x < self.below)
        elif self.above is not None:
            x = float(x > self.above)
        return self.weight * x


@dataclass
class EventTerm:
    """``weight * info[key]`` when the env reports the event (a number or bool), else 0."""

    name: str
    key: str
    weight: float

    def reset(self, obs: np.ndarray, info: dict[str, Any]) -> None:
        pass

    def __call__(self, obs: np.ndarray, terminated: bool, info: dict[str, Any]) -> float:
        return self.weight * float(info.get(self.key, 0.0))


class TermShaping(gym.Wrapper):
    """Add the sum of ``terms`` to the reward; report each term in ``info``.

    Args:
        env: the environment (put it outside ``Monitor`` so logged returns stay the env's own).
        terms: the terms; each env gets its own copy, so one list can configure many envs.

    ``info`` gains ``"env_reward"`` (the reward before any shaping wrapper), ``"shaping"``
    (``{name: this step's term}``) and, on the last step of an episode, ``"episode_shaping"``
    (``{name: the episode's sum}``). Stacked shaping wrappers merge into the same dicts.

    Example:
        >>> env = TermShaping(gym.make("MountainCar-v0"), [LivingTerm("alive", -0.01)])
        >>> _ = env.reset(seed=0)
        >>> _, r, *_, info = env.step(1)
        >>> r, info["env_reward"], info["shaping"]
        (-1.01, -1.0, {'alive': -0.01})
    """

    def __init__(self, env: gym.Env, terms: Sequence[Term]) -> None:
        super().__init__(env)
        names = [t.name for t in terms]
        if len(set(names)) != len(names):
            raise UserError(f"shaping term names must be unique, got {names}")
        self.terms: list[Term] = [copy.deepcopy(t) for t in terms]
        for term in self.terms:
            _check_obs_term(term, env.observation_space)
        self._episode = dict.fromkeys(names, 0.0)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict]:
        obs, info = self.env.reset(seed=seed, options=options)
        for term in self.terms:
            term.reset(obs, info)
        self._episode = dict.fromkeys(self._episode, 0.0)
        return obs, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict]:
        obs, reward, terminated, truncated, info = self.env.step(action)
        values = {t.name: float(t(obs, terminated, info)) for t in self.terms}
        info = record_env_reward(info, reward)  # unless an inner reward wrapper already did
        info["shaping"] = {**info.get("shaping", {}), **values}
        for name, value in values.items():
            self._episode[name] += value
        if terminated or truncated:
            info["episode_shaping"] = {**info.get("episode_shaping", {}), **self._episode}
        return obs, float(reward) + sum(values.values()), terminated, truncated, info


class PotentialShaping(TermShaping):
    """Potential-based shaping ``F = weight * (gamma * Phi(s') - Phi(s))``, ``Phi(terminal) = 0`` (Ng et al. 1999).

    Args:
        env: the environment.
        potential: ``Phi(obs, info) -> float`` (or ``Phi(obs)``), a built-in name
            (:data:`gymsuite.rewards.potentials.BUILTIN`) or ``"package.module:function"``.
        gamma: the agent's discount factor (another value breaks the invariance guarantee).
        weight: scale of ``Phi``.
        name: the term's name in ``info["shaping"]``.
    """

    def __init__(self, env: gym.Env, potential: str | Callable[..., float], gamma: float = 0.99,
                 weight: float = 1.0, name: str = "potential") -> None:
        if not 0.0 < gamma <= 1.0:
            raise UserError(f"gamma must be in (0, 1], got {gamma}", "use the agent's discount factor")
        super().__init__(env, [PotentialTerm(name, potentials.resolve(potential), gamma, weight)])


def _check_obs_term(term: Term, space: gym.Space) -> None:
    """Fail at construction when a term cannot read this env's observations."""
    size = int(np.prod(space.shape)) if isinstance(space, gym.spaces.Box) else None
    source = getattr(term, "source", None)
    if isinstance(source, Source) and source.kind == "obs" and (size is None or int(source.key) >= size):
        raise UserError(f"shaping term {term.name!r} reads obs index {source.key}, but observations have "
                        f"{size if size is not None else 'no flat'} entries ({space})",
                        "use an index inside the observation or read an info key instead")
    if isinstance(term, PotentialTerm):
        potentials.check_space(term.potential, space, term.name)


# --------------------------------------------------------------------------- YAML loading

_DISCOUNT = "use the agent's discount factor"


@dataclass(frozen=True)
class TermKeys:
    """The keys of a shaping file: ``gamma`` at the top, and those of a term (which ones a kind takes: ``_KINDS``)."""

    kind: str = option(help="potential, living, progress, level or event")
    weight: float = option(help="the term's scale (potential: 1 when left out)", rule=Rule(float, finite=True))
    potential: str = option(help="a built-in potential or package.module:function")
    gamma: float = option(help="discount of potential terms: the agent's (default: the file's, else 0.99)",
                          rule=Rule(float, low=0.0, low_open=True, high=1.0, finite=True))
    info: str = option(help="the info key to read")
    obs: int = option(help="the index to read in the flattened observation", rule=Rule(int, low=0))
    below: float = option(help="level: weight while the quantity is below this", rule=Rule(float, finite=True))
    above: float = option(help="level: weight while the quantity is above this", rule=Rule(float, finite=True))


_RULES = {key: rule for key, rule in rules(TermKeys).items() if rule is not None}
_COMMON = {"kind", "weight"}
_KINDS: dict[str, set[str]] = {
    "potential": _COMMON | {"potential", "gamma"},
    "living": _COMMON,
    "progress": _COMMON | {"info", "obs"},
    "level": _COMMON | {"info", "obs", "below", "above"},
    "event": _COMMON | {"info"},
}
_TOP = {"gamma", "terms"}


def load_shaping(config: str | Any, agent_gamma: float | None = None) -> list[Callable[[gym.Env], gym.Env]]:
    """Read a shaping YAML file (or an already-parsed mapping) into env wrappers.

    ``agent_gamma``: the agent's discount (the run's ``gamma``, else its algorithm's default; None: not known); a
    potential term with another ``gamma`` is warned about, naming both: the optimal policy is then no longer
    guaranteed unchanged (a user's ``gamma=0.98`` under a file, or a preset entry's shaping, written for 0.99).

    Returns a list of wrapper factories ``env -> env`` for ``make_env(..., reward_wrappers=...)``;
    they are picklable, so they also work with ``SubprocVecEnv``. Format (``docs/reward_shaping.md``)::

        gamma: 0.99                      # default for potential terms: the agent's gamma
        terms:
          height: {kind: potential, potential: mountaincar_energy, weight: 10}
          alive:  {kind: living, weight: -0.01}
          ahead:  {kind: progress, obs: 0, weight: 1.0}      # or info: KEY
          near:   {kind: level, info: distance, below: 3, weight: 0.1}
          kill:   {kind: event, info: kills, weight: 1.0}

    Raises:
        UserError: a missing file, bad YAML, an unknown key, kind or potential name, or a bad
            value; the message names the offending key (``terms.near.weight``) and the fix.
    """
    data, where = _read(config)
    if not isinstance(data, dict):
        raise UserError(f"{where}: expected a mapping with a 'terms' table, got {type(data).__name__}")
    check_keys(data, sorted(_TOP), "key", f" in {where}", "allowed keys")
    gamma = _number(data, "gamma", f"{where}: gamma", default=0.99, advice=_DISCOUNT)
    terms = data.get("terms")
    if not isinstance(terms, dict) or not terms:
        raise UserError(f"{where}: 'terms' must be a non-empty mapping of name -> term",
                        "e.g. terms: {alive: {kind: living, weight: -0.01}}")
    built = tuple(_term(str(name), spec, gamma, f"{where}: terms.{name}") for name, spec in terms.items())
    for term in built:
        if agent_gamma is not None and isinstance(term, PotentialTerm) and not math.isclose(term.gamma, agent_gamma):
            warnings.warn(f"{where}: terms.{term.name} discounts with gamma {term.gamma:g} and the agent with "
                          f"{agent_gamma:g}, so the shaping may change which policy is optimal; give the term "
                          f"gamma: {agent_gamma:g} (or the agent gamma={term.gamma:g})", UserWarning, stacklevel=2)
    return [functools.partial(TermShaping, terms=built)]


def _read(config: str | Any) -> tuple[Any, str]:
    if not isinstance(config, str | bytes) and not hasattr(config, "__fspath__"):
        return config, "reward shaping"
    path = Path(config)
    if not path.is_file():
        raise UserError(f"reward-shaping file {str(path)!r} does not exist", "see examples/shaping/*.yaml")
    try:
        return load_yaml(path.read_text()), str(path)
    except yaml.YAMLError as err:
        raise UserError(f"{path} is not valid YAML: {err}", "fix the syntax (indentation, colons)") from err


def _term(name: str, spec: Any, gamma: float, where: str) -> Term:
    if not isinstance(spec, dict):
        raise UserError(f"{where}: expected a mapping like {{kind: living, weight: -0.01}}, got {spec!r}")
    kind = spec.get("kind")
    if kind not in _KINDS:
        raise UserError(f"{where}.kind: unknown kind {kind!r}", f"choose one of: {', '.join(_KINDS)}")
    check_keys(spec, sorted(_KINDS[kind]), "key", f" in {where}", "allowed keys")
    weight = _number(spec, "weight", f"{where}.weight", default=1.0 if kind == "potential" else None)
    if kind == "potential":
        if "potential" not in spec:
            raise UserError(f"{where}.potential is missing", f"built-ins: {', '.join(potentials.BUILTIN)}")
        try:
            potential = potentials.resolve(spec["potential"])
        except UserError as err:
            raise UserError(f"{where}.potential: {err.message}", err.hint) from err
        term_gamma = _number(spec, "gamma", f"{where}.gamma", default=gamma, advice=_DISCOUNT)
        return PotentialTerm(name, potential, term_gamma, weight)
    if kind == "living":
        return LivingTerm(name, weight)
    if kind == "event":
        key = spec.get("info")
        if not isinstance(key, str) or not key:
            raise UserError(f"{where}.info must name the info key of the event", "e.g. info: is_success")
        return EventTerm(name, key, weight)
    source = _source(spec, where)
    if kind == "progress":
        return ProgressTerm(name, source, weight)
    if "below" in spec and "above" in spec:
        raise UserError(f"{where}: give at most one of 'below' and 'above'")
    below = _number(spec, "below", f"{where}.below", default=math.nan)
    above = _number(spec, "above", f"{where}.above", default=math.nan)
    return LevelTerm(name, source, weight, None if math.isnan(below) else below, None if math.isnan(above) else above)


def _source(spec: dict, where: str) -> Source:
    if ("info" in spec) == ("obs" in spec):
        raise UserError(f"{where}: give exactly one of 'info: KEY' or 'obs: INDEX' for the quantity to read")
    if "obs" in spec:
        return Source("obs", check_value("obs", spec["obs"], _RULES["obs"], f"{where}.obs"))
    if not isinstance(spec["info"], str) or not spec["info"]:
        raise UserError(f"{where}.info must be an info key (a string), got {spec['info']!r}")
    return Source("info", spec["info"])


def _number(spec: dict, key: str, path: str, default: float | None, advice: str = "") -> float:
    """``spec[key]`` checked against its rule in :class:`TermKeys` (``path`` names it: ``file: terms.a.weight``)."""
    if key not in spec:
        if default is None:
            raise UserError(f"{path} is missing", f"add e.g. {key}: 0.1")
        return default
    return float(check_value(key, spec[key], _RULES[key], path, advice))


# --------------------------------------------------------------------------- logging


class ShapingLogger(BaseCallback):
    """Log the mean per-episode sum of each shaping term as ``shaping/<name>`` (SB3 logger)."""

    def _on_step(self) -> bool:
        for info in self.locals.get("infos", ()):
            for name, value in info.get("episode_shaping", {}).items():
                self.logger.record_mean(f"shaping/{name}", value)
        return True


__all__ = ["EventTerm", "LevelTerm", "LivingTerm", "PotentialShaping", "PotentialTerm", "ProgressTerm",
           "ShapingLogger", "Source", "Term", "TermShaping", "load_shaping"]
