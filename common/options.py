"""One schema for options: each field's default, rule and help declared once, checked and turned into flags from there.

An options object is a dataclass whose fields are made with :func:`option` (CleanRL's
"config as a dataclass whose fields carry their help"). From that one declaration:

* :func:`parse` checks a user's mapping (``--curiosity-kwargs``, a config file, a YAML
  table): an unknown key is named with the closest valid one, a bad value with its rule;
* :func:`add_arguments` adds one command-line flag per field, with the field's help;
  :func:`cli_values` reads them back as a mapping of fields.

Tables whose keys are not a dataclass (SB3 hyperparameters, shaping YAML keys) use the same
:class:`Rule` with :func:`check_value`, and :func:`check_keys` for their key sets.

Example:
    >>> @dataclass(frozen=True)
    ... class Opts:
    ...     epochs: int = option(2, "passes per update", Rule(int, low=1))
    >>> parse(Opts, {"epochs": 3e0}, "option")
    Opts(epochs=3)
"""

from __future__ import annotations

import argparse
import dataclasses
import math
import typing
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar

from gymsuite.common.errors import UserError, closest_hint

T = TypeVar("T")


@dataclass(frozen=True)
class Rule:
    """What a value must be.

    Args:
        kind: ``int``, ``float``, ``bool`` or ``str``. ``int`` also accepts integral floats
            (``3e5``, read by YAML as a float) and :meth:`coerce` makes them ints; ``float``
            accepts ints; neither accepts a bool.
        low, high: bounds, included unless ``low_open``/``high_open``.
        finite: reject ``inf`` too (an ``int`` is always finite; ``nan`` fails any bound, and
            passes only a rule with neither bounds nor ``finite``).
        nullable: also accept ``None`` (meaning "not set").
        choices: the only values a ``str`` may take.
    """

    kind: type = float
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    finite: bool = False
    nullable: bool = False
    choices: tuple[str, ...] = ()

    def accepts(self, value: Any) -> bool:
        if value is None:
            return self.nullable
        if self.kind is bool:
            return isinstance(value, bool)
        if self.kind is str:
            return isinstance(value, str) and (not self.choices or value in self.choices)
        if isinstance(value, bool) or not isinstance(value, int | float):
            return False
        if (self.finite or self.kind is int) and not math.isfinite(value):
            return False
        if self.kind is int and float(value) != int(value):
            return False
        if math.isnan(value) and (self.low is not None or self.high is not None):
            return False  # every comparison with nan is false: "nan < low" would let it through
        if self.low is not None and (value <= self.low if self.low_open else value < self.low):
            return False
        return not (self.high is not None and (value >= self.high if self.high_open else value > self.high))

    def describe(self) -> str:
        """The rule in words: ``"an integer >= 1"``, ``"a number in [0, 1)"``, ``"true or false"``."""
        if self.kind is bool:
            text = "true or false"
        elif self.kind is str:
            text = f"one of {', '.join(self.choices)}" if self.choices else "a string"
        else:
            bounded = self.low is not None and self.high is not None  # "in [0, 1)" says finite already
            text = "a finite number" if self.finite and not bounded else "a number"
            text = "an integer" if self.kind is int else text
            if bounded:
                text = (f"{text} in {'(' if self.low_open else '['}{self.low:g}, "
                        f"{self.high:g}{')' if self.high_open else ']'}")
            elif self.low is not None:
                text = f"{text} {'>' if self.low_open else '>='} {self.low:g}"
            elif self.high is not None:
                text = f"{text} {'<' if self.high_open else '<='} {self.high:g}"
        return f"{text} (or null)" if self.nullable else text

    def coerce(self, value: Any) -> Any:
        """An accepted value as the field wants it: integral floats become ints for ``int``."""
        return int(value) if self.kind is int and isinstance(value, float) else value


def check_value(key: str, value: Any, rule: Rule, label: str | None = None, advice: str = "") -> Any:
    """Return ``rule.coerce(value)``, or raise a :class:`UserError` naming ``key``, the value and the rule.

    Args:
        key: the key's name, as the fix names it (``"gamma must be a number in [0, 1]"``).
        value: what was given.
        rule: what it must be.
        label: how the message names the key (default ``'key'``), e.g. ``"hyperparameter 'gamma' of bc"``.
        advice: appended to the fix, e.g. ``"use the agent's discount factor"``.
    """
    if not rule.accepts(value):
        fix = f"{key} must be {rule.describe()}" + (f"; {advice}" if advice else "")
        raise UserError(f"bad value for {label or repr(key)}: {value!r}", fix)
    return rule.coerce(value)


def check_keys(given: Iterable[str], valid: Iterable[str], label: str = "key", where: str = "",
               listing: str = "valid keys") -> None:
    """Raise a :class:`UserError` on the first key of ``given`` that is not ``valid``, with the closest valid one.

    Args:
        given: the keys the user wrote.
        valid: the keys allowed, listed in this order when none is close.
        label: what a key is called: ``"unknown {label} 'x'{where}"``.
        where: appended to the message, e.g. ``" in run.yaml"`` or ``" for ppo"``.
        listing: the words before the full list of keys.
    """
    valid = list(valid)
    for key in given:
        if key not in valid:
            raise UserError(f"unknown {label} {key!r}{where}", closest_hint(key, valid, listing))


def option(default: Any = dataclasses.MISSING, help: str = "", rule: Rule | None = None, *,
           default_factory: Callable[[], Any] | Any = dataclasses.MISSING, flag: str | None = None,
           metavar: str | None = None, cli_type: Callable[[str], Any] | None = None) -> Any:
    """A dataclass field that carries its help and rule (and, optionally, its flag, metavar and command-line type).

    Args:
        default: the field's default (leave out for a required field).
        help: one line for ``--help`` and the docs.
        rule: what a user-given value must be (none: any value of the field's type is taken as is).
        default_factory: for mutable defaults (``dict``).
        flag: the command-line flag, when not ``--field-name`` (``--no-field-name`` for a bool that defaults to true).
        metavar: the value's name in ``--help``.
        cli_type: how the flag reads its text when not as the field's type (a number or a word such as ``auto``,
            resolved later).
    """
    metadata = {"help": help, "rule": rule, "flag": flag, "metavar": metavar, "cli_type": cli_type}
    if default_factory is not dataclasses.MISSING:
        return dataclasses.field(default_factory=default_factory, metadata=metadata)
    return dataclasses.field(default=default, metadata=metadata)


def rules(cls: type) -> dict[str, Rule | None]:
    """Each field of the options dataclass ``cls`` and its rule (``None``: no rule)."""
    return {f.name: f.metadata.get("rule") for f in dataclasses.fields(cls)}


def check(cls: type, given: Mapping[str, Any], label: str, where: str = "", listing: str = "valid keys",
          strict: bool = True) -> dict[str, Any]:
    """Check ``given`` against the options dataclass ``cls``; return it with values coerced.

    Args:
        cls: the options dataclass.
        given: field -> value, as the user wrote it.
        label: what a key is called in messages (``"curiosity option"``).
        where: appended to the key in messages (``" of bc"``).
        listing: the words before the list of valid keys when no key is close.
        strict: reject keys that are not fields; ``False`` ignores them (``given`` holds more than ``cls``).

    Raises:
        UserError: an unknown key (with the closest valid one) or a value against its rule.
    """
    fields = rules(cls)
    if strict:
        check_keys(given, fields, label, where, listing)
    out = {}
    for key, value in given.items():
        if key in fields:
            rule = fields[key]
            out[key] = check_value(key, value, rule, f"{label} {key!r}{where}") if rule else value
    return out


def parse(cls: type[T], given: Mapping[str, Any], label: str, where: str = "", listing: str = "valid keys",
          strict: bool = True) -> T:
    """``cls(**given)`` after :func:`check` (defaults fill what is not given)."""
    return cls(**check(cls, given, label, where, listing, strict))


# --------------------------------------------------------------------------- command-line flags


def _flag(f: dataclasses.Field, kind: type) -> str:
    if f.metadata.get("flag"):
        return f.metadata["flag"]
    prefix = "--no-" if kind is bool and f.default is True else "--"
    return prefix + f.name.replace("_", "-")


def _kind(hint: Any) -> type:
    """``int`` from ``int``, ``str`` from ``str | None``, ``dict`` from ``dict[str, Any]``."""
    args = [a for a in typing.get_args(hint) if a is not type(None)]
    if typing.get_origin(hint) is not None and args and typing.get_origin(hint) is not dict:
        return _kind(args[0])  # an optional X
    return typing.get_origin(hint) or hint


def add_arguments(parser: argparse.ArgumentParser | argparse._ArgumentGroup, cls: type,
                  skip: Iterable[str] = ()) -> None:
    """Add one flag per field of ``cls`` (except ``skip``) whose default is ``None``: "not given".

    ``--field-name VALUE`` for numbers and strings, ``--field-name KEY=VALUE ...`` for a mapping,
    and a switch for a bool (``--no-field-name`` when it defaults to true). The flag's help is
    the field's, with its default (for a ``--no-...`` switch: "don't " and the field's help, so
    write that one as a verb).
    """
    hints = typing.get_type_hints(cls)
    for f in dataclasses.fields(cls):
        if f.name in skip:
            continue
        kind = _kind(hints[f.name])
        meta: dict[str, Any] = {"dest": f.name, "default": None, "help": f.metadata.get("help")}
        if kind is bool:  # a switch to the other value; "--no-check: don't check a custom env ..."
            meta.update(action="store_const", const=f.default is not True)
            if f.default is True and meta["help"]:
                meta["help"] = f"don't {meta['help']}"
        elif kind is dict:
            meta.update(nargs="+", metavar=f.metadata.get("metavar") or "KEY=VALUE")
        else:
            meta.update(type=f.metadata.get("cli_type") or kind, metavar=f.metadata.get("metavar"))
            if f.default not in (None, dataclasses.MISSING) and meta["help"]:
                meta["help"] += f" (default: {f.default})"
        parser.add_argument(_flag(f, kind), **meta)


def cli_values(cls: type, args: argparse.Namespace, parse_pairs: Callable[[list[str]], dict[str, Any]],
               skip: Iterable[str] = ()) -> dict[str, Any]:
    """The fields of ``cls`` that :func:`add_arguments` added, as given (``None``: not given).

    Args:
        cls: the options dataclass.
        args: the parsed command line.
        parse_pairs: reads a mapping flag's ``["key=value", ...]``.
        skip: the fields left out of :func:`add_arguments`.
    """
    out: dict[str, Any] = {}
    for f in dataclasses.fields(cls):
        if f.name not in skip and hasattr(args, f.name):
            value = getattr(args, f.name)
            out[f.name] = parse_pairs(value) or None if isinstance(value, list) else value
    return out
