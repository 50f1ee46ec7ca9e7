"""A tuning search space as data: one YAML mapping of hyperparameter -> range, read, checked and sampled.

The format (also in the header of each shipped file, ``agents/hyperparams/spaces/<algo>.yml``)::

    learning_rate: {low: 1.0e-5, high: 1.0e-2, log: true}   # a float in [low, high]; log: sampled on a log scale
    n_epochs: {low: 1, high: 20, int: true}                 # an integer in [low, high] (log allowed too)
    n_steps: {choices: [64, 128, 256]}                      # one of the listed numbers, strings or booleans
    backbone_kwargs.context: {choices: [2, 4, 8]}           # one key of a mapping hyperparameter (the others kept)
    policy_kwargs.net_arch: {choices: [[64, 64], [256, 256]]}   # lists and mappings too (Optuna sees their text)

Every candidate value is checked by the training's own rules (``build_config``: an unknown key or a value
training would refuse is refused here, before anything is written). Ranges are sampled with Optuna's
``trial.suggest_*``, so an enqueued trial (an interrupted one tried again) gets its old values back. Optuna's
categorical values must be scalars, so a list or mapping choice is asked by its label (its JSON text, ``"[64, 64]"``:
what ``summary.md`` shows) and the trial trains the value itself.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from gymsuite.agents.algorithms import registry
from gymsuite.common.errors import UserError
from gymsuite.common.files import read_yaml

if TYPE_CHECKING:
    import optuna

_FIELDS = ("low", "high", "log", "int", "choices")
_FORMAT = "write {low: 1.0e-5, high: 1.0e-2, log: true}, {low: 1, high: 20, int: true} or {choices: [64, 128]}"


@dataclass(frozen=True)
class Param:
    """One dimension: a range (``low``..``high``, maybe ``log``, maybe ``integer``) or a list of ``choices``."""

    name: str
    low: float | None = None
    high: float | None = None
    log: bool = False
    integer: bool = False
    choices: tuple[Any, ...] = ()

    def candidates(self) -> list[Any]:
        """The values that bound what sampling can give: the ends of a range, or every choice."""
        if self.choices:
            return list(self.choices)
        return [int(v) if self.integer else float(v) for v in (self.low, self.high) if v is not None]

    def labels(self) -> list[Any]:
        """The choices as Optuna asks them: a scalar itself, a list or mapping its JSON text (:func:`label`)."""
        return [label(c) for c in self.choices]

    def suggest(self, trial: optuna.trial.Trial) -> Any:
        if self.choices:
            labels = self.labels()
            return copy.deepcopy(self.choices[labels.index(trial.suggest_categorical(self.name, labels))])
        assert self.low is not None and self.high is not None
        if self.integer:
            return trial.suggest_int(self.name, int(self.low), int(self.high), log=self.log)
        return trial.suggest_float(self.name, float(self.low), float(self.high), log=self.log)


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def label(choice: Any) -> Any:
    """A choice as Optuna's categorical value: a scalar itself, a list or mapping its JSON text (``"[64, 64]"``)."""
    return choice if _scalar(choice) else json.dumps(choice, sort_keys=True)


def shipped_space(algo: str) -> Path:
    """The space file shipped for ``algo`` (its spec's :attr:`~gymsuite.agents.algorithms.spec.AlgoSpec.space`).

    Raises:
        UserError: none is shipped for it.
    """
    path = registry.get(algo).space
    if path is None or not path.is_file():
        shipped = ", ".join(shipped_algos())
        raise UserError(f"no search space is shipped for {algo} (shipped: {shipped})",
                        "write one (see agents/hyperparams/spaces/ppo.yml for the format) and pass --space FILE.yaml")
    return path


def shipped_algos() -> list[str]:
    """The algorithms that ship a search space, sorted."""
    return [name for name in registry.available() if registry.get(name).space is not None]


def read_space(path: Path) -> dict[str, Any]:
    """The space file as a mapping (the form ``study.yaml`` keeps).

    Raises:
        UserError: a missing file, bad YAML, or not a non-empty mapping.
    """
    data = read_yaml(path)
    if not isinstance(data, dict) or not data:
        raise UserError(f"the search space {path} is empty or not a mapping", _FORMAT)
    return data


def parse_space(data: dict[str, Any], where: str) -> list[Param]:
    """Every dimension of a space mapping, each checked for form (not yet against the algorithm).

    Raises:
        UserError: naming the parameter: an unknown field, a range with low >= high, log with low <= 0,
            empty or repeated choices, wrong types.
    """
    return [_param(str(name), spec, where) for name, spec in data.items()]


def _param(name: str, spec: Any, where: str) -> Param:
    def bad(problem: str, fix: str = _FORMAT) -> UserError:
        return UserError(f"search space {where}: {name!r} {problem}", fix)

    if not isinstance(spec, dict):
        raise bad(f"is {spec!r}, not a mapping")
    unknown = sorted(set(spec) - set(_FIELDS))
    if unknown:
        raise bad(f"has unknown field(s) {', '.join(map(str, unknown))}", f"use only {', '.join(_FIELDS)}")
    if "choices" in spec:
        choices = spec["choices"]
        if set(spec) != {"choices"}:
            raise bad("mixes choices with a range", "give either choices or low/high")
        if not isinstance(choices, list) or not choices:
            raise bad("has no choices", "list at least one value: {choices: [64, 128]}")
        try:
            labels = [label(c) for c in choices]
        except (TypeError, ValueError) as err:  # not JSON: a YAML date, a set...
            raise bad(f"has a choice that is not a plain value ({err})",
                      "list numbers, strings, booleans, or lists and mappings of them") from err
        if len(set(labels)) != len(labels):
            raise bad("lists a choice twice (or a string that spells another choice)", "list each value once")
        return Param(name, choices=tuple(choices))
    low, high, log, integer = spec.get("low"), spec.get("high"), spec.get("log", False), spec.get("int", False)
    if not isinstance(log, bool) or not isinstance(integer, bool):
        raise bad("has log or int that is not true/false")
    for end, value in (("low", low), ("high", high)):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise bad(f"has {end}={value!r}, not a number", f"give both low and high as numbers; {_FORMAT}")
        if integer and float(value) != int(value):
            raise bad(f"is int but {end}={value!r} is not a whole number")
    assert low is not None and high is not None
    if low >= high:
        raise bad(f"has low={low} >= high={high}", "make low smaller than high (a single value: {choices: [x]})")
    if log and low <= 0:
        raise bad(f"is log-scaled but low={low} <= 0", "make low positive, or drop log: true")
    return Param(name, float(low), float(high), log, integer)


def check_against(params: list[Param], build: Any, where: str) -> None:
    """Build a run config with each candidate value (``build({name: value})``: the training's own checks), so a
    key or value training would refuse is refused now.

    Raises:
        UserError: naming the parameter and the training's objection.
    """
    for param in params:
        for value in param.candidates():
            try:
                build({param.name: value})
            except UserError as err:
                raise UserError(f"search space {where}: {param.name}={value!r} is refused: {err.message}",
                                err.hint or f"fix or remove {param.name!r} in {where}") from err


def sample(params: list[Param], trial: optuna.trial.Trial) -> dict[str, Any]:
    """One value for every dimension, asked of ``trial`` (Optuna's sampler decides)."""
    return {p.name: p.suggest(trial) for p in params}
