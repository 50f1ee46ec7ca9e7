"""Domain randomisation: env parameters drawn anew for every episode, and automatic domain randomisation (ADR).

``randomize={length: [0.25x, 4x], gravity: [5, 15], dist: loguniform}`` (a run's hyperparameter, parsed once into
:class:`RandomizeOptions`) gives :class:`RandomizeParams`, which draws each parameter before every episode from its
range (uniform, or log-uniform: uniform in log space, which gives x0.25..x1 as much weight as x1..x4) and sets
it on the env (:mod:`gymsuite.envs.params`). Ranges are absolute or relative to the nominal value (``4x``).

The draws come from the wrapper's own generator, seeded from the env's seed at ``reset(seed=...)`` (copy i of a
run: ``seed + i``), so a run reproduces; the generator, the current draw and the ranges are part of a
checkpoint (:meth:`RandomizeParams.get_resume_state`), so an exact resume stays exact. Each finished episode's
``info["randomize"]`` holds its draws (``values``), its return and length, and with ADR the current ranges.

ADR (OpenAI et al. 2019, "Solving Rubik's Cube with a robot hand", section 5):
``randomize={length: [1x, 1x], adr: {bounds: [0.25x, 4x], threshold: 400, step: 0.1x}}``. With probability
``boundary_prob`` an episode pins one parameter (chosen at random) at its range's low or high end, the others
drawn as usual; after ``episodes`` such episodes at one end, a mean return of at least ``threshold`` moves that
end outwards by ``step`` (never past ``bounds``), one below ``low_threshold`` (when set) moves it back in
(:func:`adr_decide`). On its own each env copy decides from its own episodes; in training, the pipeline pools the
copies' pinned returns at every rollout's end and gives all of them the same ranges (the paper's central ADR
server; :class:`gymsuite.agents.run.randomizing.AdrSync`).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.common.errors import UserError, closest_hint
from gymsuite.common.options import Rule, check, option
from gymsuite.envs.params import EnvParam, apply_params, find_param, relative_value

DISTS = ("uniform", "loguniform")
_SEED_TAG = 0x5EED  # the draws' generator: seeded from (seed, tag), apart from the env's own np_random


@dataclass(frozen=True)
class AdrOptions:
    """ADR's settings (``randomize={..., adr: {...}}``); ``bounds`` and ``step`` as written (numbers or multiples of
    each parameter's nominal value), resolved on the env by :func:`resolve_ranges`."""

    bounds: tuple[Any, Any] = option(help="[lowest, highest] an end of a range may reach, e.g. [0.25x, 4x]")
    threshold: float = option(help="mean return at an end that moves it outwards", rule=Rule(float, finite=True))
    step: Any = option(help="how far an end moves, e.g. 0.1x")
    episodes: int = option(5, "episodes pinned at one end before it is decided", Rule(int, low=1))
    boundary_prob: float = option(0.5, "share of episodes that pin a parameter at an end", Rule(float, low=0, high=1))
    low_threshold: float | None = option(None, "mean return below which an end moves back in (none: never)",
                                         Rule(float, finite=True, nullable=True))


@dataclass(frozen=True)
class RandomizeOptions:
    """The ``randomize`` hyperparameter, checked for its form (names and values are checked against the env when
    it is built: :func:`resolve_ranges`).

    Attributes:
        ranges: parameter name -> ``(low, high)`` as written (``1.5``, ``"0.25x"``).
        dist: ``uniform`` or ``loguniform``.
        adr: automatic domain randomisation, or None.
    """

    ranges: Mapping[str, tuple[Any, Any]] = field(default_factory=lambda: MappingProxyType({}))
    dist: str = "uniform"
    adr: AdrOptions | None = None


def randomize_options(value: Any) -> RandomizeOptions | None:
    """Parse the ``randomize`` hyperparameter (None: off).

    Raises:
        UserError: not a mapping, a range that is not ``[low, high]``, an unknown ``dist`` or ADR key.
    """
    if value is None or value is False:
        return None
    fix = "write randomize={length: [0.25x, 4x], gravity: [5, 15], dist: loguniform}"
    if not isinstance(value, Mapping):
        raise UserError(f"bad value for 'randomize': {value!r}", fix)
    dist = str(value.get("dist", "uniform"))
    if dist not in DISTS:
        raise UserError(f"randomize: unknown dist {dist!r}", closest_hint(dist, DISTS, "dists"))
    ranges = {str(k): _pair(f"randomize.{k}", v, fix) for k, v in value.items() if k not in ("dist", "adr")}
    if not ranges:
        raise UserError("randomize names no parameter", fix)
    adr = _adr(value["adr"]) if value.get("adr") is not None else None
    return RandomizeOptions(MappingProxyType(ranges), dist, adr)


def _pair(what: str, value: Any, fix: str) -> tuple[Any, Any]:
    if not isinstance(value, (list, tuple)) or len(value) != 2:
        raise UserError(f"bad range for {what}: {value!r} (want [low, high])", fix)
    return value[0], value[1]


def _adr(value: Any) -> AdrOptions:
    fix = "write adr: {bounds: [0.25x, 4x], threshold: 400, step: 0.1x} (optional: episodes, boundary_prob, " \
          "low_threshold)"
    if not isinstance(value, Mapping):
        raise UserError(f"bad value for 'randomize.adr': {value!r}", fix)
    given = check(AdrOptions, value, "randomize.adr key")
    required = [f.name for f in dataclasses.fields(AdrOptions) if f.default is dataclasses.MISSING]
    missing = [name for name in required if name not in given]
    if missing:
        raise UserError(f"randomize.adr lacks {', '.join(missing)}", fix)
    return AdrOptions(**{**given, "bounds": _pair("randomize.adr.bounds", given["bounds"], fix)})


@dataclass(frozen=True)
class Range:
    """One randomised parameter, resolved on a built env: its current ``[low, high]`` and ADR's ``bounds``/``step``."""

    param: EnvParam
    low: float
    high: float
    bounds: tuple[float, float] | None = None
    step: float = 0.0


def resolve_ranges(env: gym.Env, options: RandomizeOptions) -> dict[str, Range]:
    """``options``' ranges as absolute values on ``env``, each checked against the parameter's valid values.

    Raises:
        UserError: a parameter ``env`` lacks (listing those it has), a constructor keyword (not per episode), a
            range with low > high or a value that breaks the env, a log-uniform range not above 0, ADR bounds
            that do not hold the starting range.
    """
    out = {}
    for name, (low_text, high_text) in options.ranges.items():
        param = find_param(env, name, "randomize")
        if param.setter is None:
            raise UserError(f"randomize: {name} is a constructor keyword, set when the env is built, not per episode",
                            "evaluate it over values with gymsuite shift --param instead, or randomise an attribute")
        low = param.value(low_text, f"randomize.{name} low")
        high = param.value(high_text, f"randomize.{name} high")
        if low > high:
            raise UserError(f"randomize.{name}: low {low:g} > high {high:g}", "write [low, high]")
        bounds, step = None, 0.0
        if options.adr is not None:
            adr = options.adr
            bounds = (param.value(adr.bounds[0], f"randomize.adr.bounds for {name}"),
                      param.value(adr.bounds[1], f"randomize.adr.bounds for {name}"))
            step = relative_value(adr.step, param.nominal, "randomize.adr.step")
            if not bounds[0] <= low <= high <= bounds[1]:
                raise UserError(f"randomize.{name}: the range [{low:g}, {high:g}] is not inside adr.bounds "
                                f"[{bounds[0]:g}, {bounds[1]:g}]", "start ADR inside its bounds, e.g. [1x, 1x]")
            if not step > 0:
                raise UserError(f"randomize.adr.step must be above 0, got {adr.step!r}", "e.g. step: 0.1x")
        if options.dist == "loguniform" and min(low, bounds[0] if bounds else low) <= 0:
            raise UserError(f"randomize.{name}: a log-uniform range must be above 0", "use dist: uniform")
        out[name] = Range(param, low, high, bounds, step)
    return out


Limits = Mapping[str, tuple[float, float, float]]
"""ADR's limits of each parameter: ``(lowest, highest, step)``."""


def adr_decide(ranges: Mapping[str, Sequence[float]], buffers: Mapping[str, Sequence[float]], limits: Limits,
               adr: AdrOptions) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
    """ADR's rule on the returns of pinned episodes: for every end (``buffers["name/0"]``: the low end, ``/1``: the
    high one) with at least ``adr.episodes`` returns, a mean of at least ``threshold`` moves that end outwards by the
    parameter's step, one below ``low_threshold`` (when set) inwards; the end stays within ``bounds`` and the range
    never crosses itself (``limits``: each parameter's bounds and step). Returns the new ``(ranges, buffers)``, the
    decided ends' buffers emptied."""
    new = {n: [float(r[0]), float(r[1])] for n, r in ranges.items()}
    kept = {k: [float(x) for x in v] for k, v in buffers.items()}
    for key, returns in buffers.items():
        if len(returns) < adr.episodes:
            continue
        kept[key] = []
        name, side = key.rsplit("/", 1)
        mean, (lowest, highest, step) = float(np.mean(returns)), limits[name]
        if mean >= adr.threshold:
            direction = 1
        elif adr.low_threshold is not None and mean < adr.low_threshold:
            direction = -1
        else:
            continue
        low, high = new[name]
        if side == "0":
            low = min(max(low - direction * step, lowest), high)
        else:
            high = max(min(high + direction * step, highest), low)
        new[name] = [low, high]
    return new, kept


class RandomizeParams(gym.Wrapper):
    """Draws the parameters of ``options`` before every episode and sets them on the env (see the module docstring).

    Attributes:
        ranges: name -> ``[low, high]``, the current ranges (ADR widens them).
        values: name -> the current episode's draw.
    """

    def __init__(self, env: gym.Env, options: RandomizeOptions) -> None:
        super().__init__(env)
        self.options = options
        self._resolved = resolve_ranges(env, options)
        self.ranges = {name: [r.low, r.high] for name, r in self._resolved.items()}
        self.values = {name: r.param.nominal for name, r in self._resolved.items()}
        self.rng = np.random.default_rng()
        self.boundary: tuple[str, int] | None = None  # ADR: (name, 0 low / 1 high) pinned this episode
        self.buffers: dict[str, list[float]] = {}  # ADR: "name/0" -> returns of episodes pinned there
        self.episode_return, self.episode_length = 0.0, 0
        self.shared = False  # ADR decided by a caller for all env copies together (share_adr)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> Any:
        if seed is not None:
            self.rng = np.random.default_rng([seed, _SEED_TAG])
        self._draw()
        return self.env.reset(seed=seed, options=options)

    def _draw(self) -> None:
        adr = self.options.adr
        self.boundary = None
        if adr is not None and self.rng.random() < adr.boundary_prob:
            names = list(self.ranges)
            self.boundary = (names[int(self.rng.integers(len(names)))], int(self.rng.integers(2)))
        for name, (low, high) in self.ranges.items():
            if self.boundary is not None and self.boundary[0] == name:
                self.values[name] = (low, high)[self.boundary[1]]
            elif self.options.dist == "loguniform":
                self.values[name] = float(math.exp(self.rng.uniform(math.log(low), math.log(high))))
            else:
                self.values[name] = float(self.rng.uniform(low, high))
        self._apply()
        self.episode_return, self.episode_length = 0.0, 0

    def _apply(self) -> None:
        apply_params(self.env, {n: (self._resolved[n].param, v) for n, v in self.values.items()})

    def step(self, action: Any) -> Any:
        obs, reward, terminated, truncated, info = self.env.step(action)
        self.episode_return += float(reward)
        self.episode_length += 1
        if terminated or truncated:
            record: dict[str, Any] = {"values": dict(self.values), "return": self.episode_return,
                                      "length": self.episode_length}
            if self.options.adr is not None:
                self._adr_update()
                record["ranges"] = {n: list(r) for n, r in self.ranges.items()}
                record["boundary"] = None if self.boundary is None else \
                    f"{self.boundary[0]}/{('low', 'high')[self.boundary[1]]}"
            info = {**info, "randomize": record}
        return obs, reward, terminated, truncated, info

    def _adr_update(self) -> None:
        """ADR: keep a pinned episode's return; unless shared, decide this env's ranges (:func:`adr_decide`)."""
        adr = self.options.adr
        if adr is None or self.boundary is None:
            return
        name, side = self.boundary
        self.buffers.setdefault(f"{name}/{side}", []).append(self.episode_return)
        if not self.shared:
            self.ranges, self.buffers = adr_decide(self.ranges, self.buffers, self.adr_limits(), adr)

    def share_adr(self) -> None:
        """Let a caller decide the ranges of all env copies together (:func:`adr_decide` on their pooled buffers,
        then :meth:`set_adr`), as the training pipeline does at every rollout's end."""
        self.shared = True

    def adr_state(self) -> tuple[dict[str, list[float]], dict[str, list[float]]]:
        """``(ranges, buffers)``, copies."""
        return {n: list(r) for n, r in self.ranges.items()}, {k: list(v) for k, v in self.buffers.items()}

    def adr_limits(self) -> dict[str, tuple[float, float, float]]:
        """Each parameter's ADR ``(lowest, highest, step)`` (plain numbers: a subprocess env sends them back)."""
        return {n: (*r.bounds, r.step) for n, r in self._resolved.items() if r.bounds is not None}

    def set_adr(self, ranges: Mapping[str, Sequence[float]], buffers: Mapping[str, Sequence[float]]) -> None:
        """Set the ranges (from the next episode on) and the boundary returns kept so far."""
        self.ranges = {n: [float(r[0]), float(r[1])] for n, r in ranges.items()}
        self.buffers = {k: [float(x) for x in v] for k, v in buffers.items()}

    def get_resume_state(self) -> dict[str, Any]:
        """What a checkpoint keeps of this wrapper (plain JSON: the generator, the draw, the ranges, ADR's buffers)."""
        return {"rng": self.rng.bit_generator.state, "values": dict(self.values),
                "ranges": {n: list(r) for n, r in self.ranges.items()},
                "boundary": list(self.boundary) if self.boundary else None,
                "buffers": {k: list(v) for k, v in self.buffers.items()},
                "episode": [self.episode_return, self.episode_length]}

    def set_resume_state(self, state: Mapping[str, Any]) -> None:
        """Restore :meth:`get_resume_state`'s ``state`` and set the current draw on the env again."""
        if set(state["ranges"]) != set(self.ranges):
            raise ValueError(f"randomised parameters {sorted(state['ranges'])} differ from {sorted(self.ranges)}")
        self.rng.bit_generator.state = state["rng"]
        self.values = {n: float(v) for n, v in state["values"].items()}
        self.ranges = {n: [float(r[0]), float(r[1])] for n, r in state["ranges"].items()}
        self.boundary = (state["boundary"][0], int(state["boundary"][1])) if state["boundary"] else None
        self.buffers = {k: [float(x) for x in v] for k, v in state["buffers"].items()}
        self.episode_return, self.episode_length = float(state["episode"][0]), int(state["episode"][1])
        self._apply()


__all__ = ["DISTS", "AdrOptions", "Limits", "RandomizeOptions", "RandomizeParams", "Range", "adr_decide",
           "randomize_options", "resolve_ranges"]
