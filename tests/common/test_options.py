"""The options schema: one declaration gives the validator (closest-key hints, rules) and the command-line flags."""

from __future__ import annotations

import argparse
import dataclasses
import math
from dataclasses import dataclass
from typing import Any

import pytest

from gymsuite.agents.algorithms.imitation import AdversarialOptions, BCOptions, DAggerOptions
from gymsuite.agents.run.adversarial import AdversarialTrainingOptions, SmoothOptions
from gymsuite.agents.run.auxiliary import AuxKwargs, AuxOptions
from gymsuite.agents.run.config import RunConfig, parse_assignments
from gymsuite.commands import train
from gymsuite.common.errors import UserError
from gymsuite.common.options import (
    Rule,
    add_arguments,
    check,
    check_keys,
    check_value,
    cli_values,
    option,
    parse,
    rules,
)
from gymsuite.envs.atari import AtariOptions
from gymsuite.envs.wrappers.randomize import AdrOptions
from gymsuite.rewards.curiosity import CuriosityOptions
from gymsuite.rewards.learned import LearnedRewardOptions
from gymsuite.rewards.shaping import TermKeys

SCHEMAS = [RunConfig, CuriosityOptions, BCOptions, DAggerOptions, AdversarialOptions, LearnedRewardOptions, TermKeys,
           AuxOptions, AuxKwargs, AtariOptions, AdrOptions, AdversarialTrainingOptions,
           SmoothOptions]


@dataclass(frozen=True)
class Toy:
    epochs: int = option(2, "passes per update", Rule(int, low=1))
    rate: float = option(0.5, "a rate", Rule(float, low=0.0, low_open=True, high=1.0))
    seed: int | None = option(None, "seed", Rule(int, low=0, nullable=True))
    fast: bool = option(False, "go fast", Rule(bool))
    check: bool = option(True, "check the input")
    mode: str = option("a", "the mode", Rule(str, choices=("a", "b")))
    extra: dict[str, Any] = option(help="more options", default_factory=dict)
    name: str | None = option(None, "a name", metavar="NAME")


def test_unknown_key_names_the_closest_valid_one() -> None:
    with pytest.raises(UserError) as err:
        parse(Toy, {"epoch": 3}, "toy option", " of t")
    assert err.value.message == "unknown toy option 'epoch' of t"
    assert err.value.hint == "did you mean 'epochs'?"
    with pytest.raises(UserError) as err:  # nothing close: every valid key is listed
        check_keys(["zzz"], ["a", "b"], "key", listing="valid keys")
    assert err.value.hint == "valid keys: a, b"
    assert parse(Toy, {"epochs": 3, "other": 1}, "toy option", strict=False) == Toy(epochs=3)


@pytest.mark.parametrize(("rule", "good", "bad"), [
    (Rule(int, low=1), [1, 7, 3e5, 2.0], [0, 1.5, True, "3", None, math.nan, math.inf]),
    (Rule(int, low=0, nullable=True), [0, None], [-1]),
    (Rule(float, low=0.0, low_open=True), [1e-9, 3, math.inf], [0.0, -1, False, "x", math.nan]),
    (Rule(float, low=0.0, high=1.0), [0.0, 1.0, 0.5], [-0.1, 1.01, math.nan, -math.nan]),
    (Rule(float, high=1.0), [-5.0], [math.nan, 2.0]),
    (Rule(float, low=0.0, finite=True), [0.0, 1e300], [math.inf, math.nan, -1.0]),
    (Rule(float), [math.nan, math.inf], ["x"]),
    (Rule(float, low=0.0, high=1.0, high_open=True, finite=True), [0.0, 0.99], [1.0, math.nan]),
    (Rule(float, finite=True), [-3.5, 0], [math.inf, math.nan]),
    (Rule(bool), [True, False], [1, "yes", None]),
    (Rule(str, choices=("replace", "add")), ["add"], ["multiply", 1]),
])
def test_rules_accept_and_reject(rule: Rule, good: list, bad: list) -> None:
    for value in good:
        assert rule.accepts(value)
    for value in bad:
        with pytest.raises(UserError) as err:
            check_value("k", value, rule, "option 'k' of x")
        assert err.value.message == f"bad value for option 'k' of x: {value!r}"
        assert err.value.hint == f"k must be {rule.describe()}"


def test_the_check_number_semantics_are_kept() -> None:
    # An int rule takes integral floats (YAML reads 3e5 as a float) and hands back an int; floats take ints.
    assert parse(Toy, {"epochs": 3e0, "rate": 1}, "option") == Toy(epochs=3, rate=1)
    assert type(check(Toy, {"epochs": 4.0}, "option")["epochs"]) is int
    assert Rule(int, low=1).describe() == "an integer >= 1"
    assert Rule(float, low=0.0, high=1.0).describe() == "a number in [0, 1]"
    with pytest.raises(UserError, match="bad value for option 'rate': 0"):
        parse(Toy, {"rate": 0}, "option")


@pytest.mark.parametrize("schema", SCHEMAS, ids=[s.__name__ for s in SCHEMAS])
def test_every_schema_declares_help_and_valid_defaults(schema: type) -> None:
    for f in dataclasses.fields(schema):
        assert f.metadata.get("help"), f"{schema.__name__}.{f.name} has no help"
        rule = f.metadata.get("rule")
        if rule is not None and f.default is not dataclasses.MISSING:
            assert rule.accepts(f.default), f"{schema.__name__}.{f.name}: default {f.default!r} breaks its rule"


def test_flags_come_from_the_fields() -> None:
    p = argparse.ArgumentParser()
    add_arguments(p, Toy, skip={"name"})
    actions = {a.dest: a for a in p._actions if a.dest != "help"}
    assert set(actions) == {f.name for f in dataclasses.fields(Toy)} - {"name"}
    assert actions["epochs"].option_strings == ["--epochs"] and actions["epochs"].type is int
    assert actions["check"].option_strings == ["--no-check"] and actions["check"].const is False
    assert actions["fast"].option_strings == ["--fast"] and actions["fast"].const is True
    assert actions["extra"].nargs == "+"
    assert all(a.default is None for a in actions.values())  # "not given": the config file or the default decides
    args = p.parse_args(["--epochs", "3", "--no-check", "--extra", "a=1", "b=[1, 2]"])
    assert cli_values(Toy, args, parse_assignments) == {
        "epochs": 3, "rate": None, "seed": None, "fast": None, "check": False, "mode": None,
        "extra": {"a": 1, "b": [1, 2]}}


def test_train_has_a_flag_for_every_run_config_field() -> None:
    actions = {a.dest: a for a in train.parser()._actions}
    for f in dataclasses.fields(RunConfig):
        if f.name == "hyperparams":  # --hyperparams overrides the tuned table key by key: its own flag
            continue
        assert f.name in actions, f"no flag for RunConfig.{f.name}"
        assert f.metadata["help"] in actions[f.name].help
        assert actions[f.name].option_strings[0].startswith("--")
    assert actions["check_env"].option_strings == ["--no-check"] and actions["n_envs"].option_strings == ["--n-envs"]
    args = train.parser().parse_args(["--algo", "ppo", "--n-envs", "4", "--curiosity-kwargs", "beta=0.1"])
    cli = cli_values(RunConfig, args, parse_assignments, skip={"hyperparams"})
    assert cli["algo"] == "ppo" and cli["n_envs"] == 4 and cli["curiosity_kwargs"] == {"beta": 0.1}
    assert cli["timesteps"] is None and cli["check_env"] is None and "hyperparams" not in cli


def test_rules_table_matches_the_fields() -> None:
    assert set(rules(Toy)) == {f.name for f in dataclasses.fields(Toy)}
    assert rules(Toy)["extra"] is None and rules(Toy)["epochs"] == Rule(int, low=1)
