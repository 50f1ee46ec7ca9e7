"""Env parameters by name: how to set one on a built env, its nominal value and the values that keep the env valid.

The one place that knows an env's physics parameters, for ``gymsuite shift`` (evaluation over a grid of values)
and domain randomisation in training (:mod:`gymsuite.envs.wrappers.randomize`). A parameter is either

* an **attribute** set on the unwrapped env before an episode starts (CartPole, Pendulum, MountainCar,
  LunarLander: each reads them at ``reset``/``step``), through a setter that keeps the env's derived quantities
  right (CartPole's ``polemass_length`` and ``total_mass``); or
* a **constructor keyword** (MiniGrid's ``size``, ``kw:NAME`` for any env), which needs the env built with it
  (``env_kwargs``): ``shift`` builds one env per grid value; randomisation per episode refuses it.

Known envs (matched on the unwrapped env's class):

=============  =========================================================================
CartPole       ``length`` (half the pole's length), ``masspole``, ``masscart``, ``gravity``, ``force_mag``
PixelCartPole  CartPole's, and its look: ``background``, ``texture``, ``track``, ``cart``, ``pole`` (grey levels
               in [0, 1]; ``gymsuite/PixelCartPole-v0``'s visual domain shift)
LunarLander    ``gravity`` (in (-12, 0)), ``wind`` (wind power, 0 = no wind), ``turbulence``
Pendulum       ``g``
MountainCar    ``force``, ``gravity``
MiniGrid       ``size`` (constructor keyword)
Bandit         ``p0``, ``p1``, ... (each arm's probability of paying 1, in [0, 1]; ``gymsuite/TwoArmedBandit-v0``)
=============  =========================================================================

Any env: ``kw:NAME`` (a keyword its constructor takes) or ``attr:NAME`` (a numeric attribute its unwrapped env
has). A value is absolute (``1.5``) or relative to the nominal value (``x2``, ``2x``, ``0.25x``).
"""

from __future__ import annotations

import difflib
import inspect
import math
import numbers
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from gymsuite.common.errors import UserError

Setter = Callable[[Any, float], None]


@dataclass(frozen=True)
class EnvParam:
    """One named parameter of an env.

    Attributes:
        name: as the user writes it (``length``, ``kw:size``).
        help: what it is, for listings.
        nominal: its value in the env as built.
        setter: sets it on the unwrapped env (None: a constructor keyword, :attr:`kwarg`).
        kwarg: the constructor keyword, for a parameter set when the env is built.
        low, high: the valid values (``None``: unbounded), ``low_open``/``high_open`` excluding the bound.
        integer: only whole values.
    """

    name: str
    help: str
    nominal: float
    setter: Setter | None = None
    kwarg: str | None = None
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    integer: bool = False

    def check(self, value: float, what: str = "") -> float:
        """``value`` if the env stays valid with it, else a :class:`UserError` naming the valid range."""
        bad = not math.isfinite(value)
        if self.low is not None:
            bad |= value <= self.low if self.low_open else value < self.low
        if self.high is not None:
            bad |= value >= self.high if self.high_open else value > self.high
        if self.integer and value != round(value):
            bad = True
        if bad:
            raise UserError(f"{what or self.name}={value:g} breaks the env: {self.name} must be {self.valid()}",
                            f"choose values {self.valid()} (nominal {self.nominal:g})")
        return float(round(value)) if self.integer else float(value)

    def valid(self) -> str:
        """The valid range in words, e.g. ``> 0``, ``in (-12, 0)``."""
        whole = "whole and " if self.integer else ""
        if self.low is not None and self.high is not None:
            left, right = "(" if self.low_open else "[", ")" if self.high_open else "]"
            return f"{whole}in {left}{self.low:g}, {self.high:g}{right}"
        if self.low is not None:
            return f"{whole}{'>' if self.low_open else '>='} {self.low:g}"
        if self.high is not None:
            return f"{whole}{'<' if self.high_open else '<='} {self.high:g}"
        return "whole" if self.integer else "finite"

    def value(self, text: Any, what: str = "") -> float:
        """``text`` (a number, ``"1.5"``, ``"x2"``, ``"2x"``, ``"0.25x"``) as a checked absolute value."""
        return self.check(relative_value(text, self.nominal, what or self.name), what)


def relative_value(text: Any, nominal: float, what: str) -> float:
    """A number, or ``xK``/``Kx`` meaning K times ``nominal``."""
    if isinstance(text, numbers.Real) and not isinstance(text, bool):
        return float(text)
    s = str(text).strip().lower()
    factor = s[1:] if s.startswith("x") else s[:-1] if s.endswith("x") else None
    try:
        return float(factor) * nominal if factor is not None else float(s)
    except ValueError:
        raise UserError(f"bad value for {what}: {text!r}",
                        "write a number (1.5) or a multiple of the nominal value (x2, 0.25x)") from None


# CartPole: the pole's dynamics use polemass_length = masspole * length and total_mass = masspole + masscart,
# computed once in __init__, so each setter keeps them consistent (order of setting does not matter).
def _cartpole_derived(env: Any) -> None:
    env.total_mass = env.masspole + env.masscart
    env.polemass_length = env.masspole * env.length


def _cartpole(name: str) -> Setter:
    def set_(env: Any, value: float) -> None:
        setattr(env, name, value)
        _cartpole_derived(env)

    return set_


def _attr(name: str) -> Setter:
    def set_(env: Any, value: float) -> None:
        setattr(env, name, value)

    return set_


# LunarLander: wind and turbulence act only with enable_wind; "no wind" is power 0, so the effective power is
# the parameter and enable_wind follows from both.
def _wind(env: Any) -> float:
    return float(env.wind_power) if env.enable_wind else 0.0


def _turbulence(env: Any) -> float:
    return float(env.turbulence_power) if env.enable_wind else 0.0


def _set_wind(env: Any, value: float) -> None:
    turbulence = _turbulence(env)
    env.wind_power, env.turbulence_power, env.enable_wind = value, turbulence, value > 0 or turbulence > 0


def _set_turbulence(env: Any, value: float) -> None:
    wind = _wind(env)
    env.wind_power, env.turbulence_power, env.enable_wind = wind, value, value > 0 or wind > 0


# PixelCartPole's look: grey levels it reads at every frame (gymsuite.envs.custom.pixel_cartpole).
_LOOK = {"background": "the background's grey level", "texture": "the background checkerboard's amplitude",
         "track": "the track's grey level", "cart": "the cart's grey level", "pole": "the pole's grey level"}


def _known(env: Any) -> list[EnvParam]:
    """The named parameters of the unwrapped ``env``'s family (empty when gymsuite knows none)."""
    if _is(env, "PixelCartPoleEnv"):
        return [*_known_cartpole(env), *(EnvParam(name, help_, float(getattr(env, name)), _attr(name), low=0, high=1)
                                         for name, help_ in _LOOK.items())]
    if _is(env, "CartPoleEnv"):
        return _known_cartpole(env)
    return _known_other(env)


def _known_cartpole(env: Any) -> list[EnvParam]:
    return [EnvParam("length", "half the pole's length (m)", env.length, _cartpole("length"), low=0, low_open=True),
            EnvParam("masspole", "the pole's mass (kg)", env.masspole, _cartpole("masspole"), low=0, low_open=True),
            EnvParam("masscart", "the cart's mass (kg)", env.masscart, _cartpole("masscart"), low=0, low_open=True),
            EnvParam("gravity", "gravity (m/s^2, downward: > 0)", env.gravity, _attr("gravity"), low=0,
                     low_open=True),
            EnvParam("force_mag", "the push's force (N)", env.force_mag, _attr("force_mag"), low=0, low_open=True)]


def _arm(i: int) -> Setter:
    def set_(env: Any, value: float) -> None:
        env.probs[i] = value

    return set_


def _known_other(env: Any) -> list[EnvParam]:
    if _is(env, "BernoulliBandit"):
        return [EnvParam(f"p{i}", f"arm {i}'s probability of paying 1", float(p), _arm(i), low=0, high=1)
                for i, p in enumerate(env.probs)]
    if _is(env, "LunarLander"):
        return [EnvParam("gravity", "gravity (negative: downward)", env.gravity, _attr("gravity"), low=-12, high=0,
                         low_open=True, high_open=True),
                EnvParam("wind", "wind power (0: no wind)", _wind(env), _set_wind, low=0, high=20),
                EnvParam("turbulence", "turbulence power (0: none)", _turbulence(env), _set_turbulence, low=0, high=2)]
    if _is(env, "PendulumEnv"):
        return [EnvParam("g", "gravity", env.g, _attr("g"), low=0, low_open=True)]
    if _is(env, "MountainCarEnv"):
        return [EnvParam("force", "the engine's force", env.force, _attr("force"), low=0, low_open=True),
                EnvParam("gravity", "gravity", env.gravity, _attr("gravity"), low=0, low_open=True)]
    if _is_minigrid(env) and "size" in _keywords(type(env)):
        return [EnvParam("size", "the grid's side (cells, walls included)", float(env.width), kwarg="size", low=5,
                         integer=True)]
    return []


def _is(env: Any, cls_name: str) -> bool:
    """``env`` is an instance of a class named ``cls_name`` (matched by name: LunarLander's module needs Box2D)."""
    return any(c.__name__ == cls_name for c in type(env).__mro__)


def _is_minigrid(env: Any) -> bool:
    return _is(env, "MiniGridEnv")


def _keywords(cls: type) -> dict[str, inspect.Parameter]:
    try:
        return dict(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        return {}


def _generic(env: Any, name: str) -> EnvParam | None:
    """``kw:NAME`` or ``attr:NAME`` of any env, or None when it has no such parameter."""
    kind, _, key = name.partition(":")
    if kind == "kw":
        param = _keywords(type(env)).get(key)
        if param is None or param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            return None
        default = getattr(env, key, param.default)
        nominal = float(default) if _numeric(default) else math.nan
        return EnvParam(name, f"constructor keyword {key}", nominal, kwarg=key)
    if kind == "attr" and _numeric(getattr(env, key, None)):
        return EnvParam(name, f"attribute {key} of {type(env).__name__}", float(getattr(env, key)), _attr(key))
    return None


def _numeric(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def env_params(env: gym.Env) -> dict[str, EnvParam]:
    """The named parameters gymsuite knows for ``env`` (any wrapping; read on its unwrapped env)."""
    return {p.name: p for p in _known(env.unwrapped)}


def find_param(env: gym.Env, name: str, label: str) -> EnvParam:
    """The parameter ``name`` of ``env``: a named one (:func:`env_params`), ``kw:NAME`` or ``attr:NAME``.

    Raises:
        UserError: ``env`` has no such parameter; the message lists those it has.
    """
    known = env_params(env)
    if name in known:
        return known[name]
    generic = _generic(env.unwrapped, name) if ":" in name else None
    if generic is not None:
        return generic
    inner = type(env.unwrapped).__name__
    listing = ", ".join(known) if known else "no named parameters"
    others = "kw:NAME (a constructor keyword) or attr:NAME (a numeric attribute)"
    if ":" in name:
        keywords = [k for k, p in _keywords(type(env.unwrapped)).items() if p.kind not in (p.VAR_KEYWORD,
                                                                                            p.VAR_POSITIONAL)]
        raise UserError(f"{label}: {inner} has no {name.replace(':', ' ', 1)}",
                        f"{inner} has {listing}; its constructor keywords: {', '.join(keywords) or 'none'}; "
                        f"or {others}")
    close = difflib.get_close_matches(name, list(known), n=1)
    hint = f"did you mean {close[0]!r}? " if close else ""
    raise UserError(f"{label}: {inner} has no parameter {name!r}",
                    f"{hint}{inner} has {listing}; any env: {others}")


def apply_params(env: gym.Env, params: Mapping[str, tuple[EnvParam, float]]) -> None:
    """Set each ``(param, value)`` with a setter on ``env``'s unwrapped env (constructor keywords are skipped:
    they are given when the env is built)."""
    inner = env.unwrapped
    for param, value in params.values():
        if param.setter is not None:
            param.setter(inner, value)


def read_params(env: gym.Env, params: Mapping[str, EnvParam]) -> dict[str, float]:
    """The current value of each attribute parameter on ``env`` (for tests and logs)."""
    probe = {p.name: p for p in _known(env.unwrapped)}
    out = {}
    for name, param in params.items():
        now = probe.get(name) or _generic(env.unwrapped, name)
        out[name] = now.nominal if now is not None else param.nominal
    return out


class SetParams(gym.Wrapper):
    """Sets fixed parameter values on the env before every episode (at ``reset``, so a ``VecEnv``'s auto-reset
    keeps them), and once when built. ``values``: name -> ``(param, value)`` (:func:`find_param`)."""

    def __init__(self, env: gym.Env, values: Mapping[str, tuple[EnvParam, float]]) -> None:
        super().__init__(env)
        self.values = dict(values)
        apply_params(env, self.values)

    def reset(self, **kwargs: Any) -> Any:
        apply_params(self.env, self.values)
        return self.env.reset(**kwargs)


__all__ = ["EnvParam", "SetParams", "apply_params", "env_params", "find_param", "read_params", "relative_value"]
