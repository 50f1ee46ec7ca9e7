"""resolve_env: each kind of env spec resolved once, with its time limit and multi-agent source."""

from pathlib import Path

import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.target import EnvKind, EnvTarget, classify_env, resolve_env
from tests.toy_envs import Counter

TOY_FILE = "tests/toy_envs.py"


@pytest.mark.parametrize(("spec", "kind", "time_limit"), [
    ("CartPole-v1", EnvKind.REGISTERED, 500),
    ("ALE/Pong-v5", EnvKind.ATARI, None),
    ("MiniGrid-DoorKey-5x5-v0", EnvKind.MINIGRID, None),  # MiniGrid truncates episodes itself
    ("FrozenLake-v1", EnvKind.REGISTERED, 100),
    ("tests.toy_envs:Counter", EnvKind.CUSTOM, None),
    (f"{TOY_FILE}:Counter", EnvKind.CUSTOM, None),
    ("mpe2.simple_spread_v3", EnvKind.PARALLEL, None),
    ("pettingzoo.classic.tictactoe_v3", EnvKind.TURN_BASED, None),
])
def test_each_kind(spec: str, kind: EnvKind, time_limit: int | None) -> None:
    target = resolve_env(spec)
    assert (target.spec, target.name, target.kind, target.time_limit) == (spec, spec, kind, time_limit)
    assert target.multiagent == (kind in (EnvKind.PARALLEL, EnvKind.TURN_BASED))
    assert (target.game is not None) == (kind is EnvKind.TURN_BASED)
    assert (target.parallel is not None) == (kind is EnvKind.PARALLEL)
    assert resolve_env(spec) is target  # resolved once, then cached


def test_turn_based_game_builds_its_aec_env() -> None:
    game = resolve_env("pettingzoo.classic.tictactoe_v3").game
    assert game is not None
    env = game()
    assert env.possible_agents == ["player_1", "player_2"]
    env.close()


def test_a_class_is_custom_and_the_target_is_frozen() -> None:
    target = resolve_env(Counter)
    assert target.kind is EnvKind.CUSTOM and target.name == "tests.toy_envs:Counter" and target.time_limit is None
    with pytest.raises(AttributeError):
        target.kind = EnvKind.ATARI  # type: ignore[misc]
    assert isinstance(target, EnvTarget)


def test_a_minigrid_id_in_module_form_is_minigrid() -> None:
    assert resolve_env("minigrid:MiniGrid-DoorKey-5x5-v0").kind is EnvKind.MINIGRID


@pytest.mark.parametrize("spec", ["CartPol-v1", "tests.toy_envs:NoSuchEnv", "no_such_module_xyz:Env", 42])
def test_an_unknown_spec_is_a_user_error(spec: object) -> None:
    with pytest.raises(UserError):
        resolve_env(spec)  # type: ignore[arg-type]


def test_a_config_check_classifies_an_id_no_package_registers_by_its_form() -> None:
    assert classify_env("ALE/Pongg-v5").kind is EnvKind.ATARI and classify_env("ALE/Pongg-v5").time_limit is None
    assert classify_env("NoSuchEnv-v0").kind is EnvKind.REGISTERED
    with pytest.raises(UserError):  # a module that does not import still fails
        classify_env("pettingzoo.mpe.simple_spread_v3")


@pytest.mark.parametrize(("forms", "kind", "env_id"), [
    (("ALE/Pong-v5", "ale_py:ALE/Pong-v5"), EnvKind.ATARI, "ALE/Pong-v5"),
    (("PongNoFrameskip-v4", "ale_py:PongNoFrameskip-v4"), EnvKind.ATARI, "PongNoFrameskip-v4"),
    (("MiniGrid-Empty-8x8-v0", "minigrid:MiniGrid-Empty-8x8-v0"), EnvKind.MINIGRID, "MiniGrid-Empty-8x8-v0"),
    (("CartPole-v1", "gymnasium:CartPole-v1"), EnvKind.REGISTERED, "CartPole-v1"),
])
def test_every_form_of_an_id_is_the_same_kind_of_env(forms: tuple[str, str], kind: EnvKind, env_id: str) -> None:
    targets = [resolve_env(spec) for spec in forms] + [classify_env(spec) for spec in forms]
    assert {(t.kind, t.env_id, t.time_limit, t.user_code) for t in targets} == {
        (kind, env_id, targets[0].time_limit, False)}


def test_a_minigrid_class_is_minigrid_in_every_form(tmp_path: Path) -> None:
    from minigrid.envs import EmptyEnv

    (tmp_path / "grid.py").write_text("from minigrid.envs import EmptyEnv\n")
    for spec in ("minigrid.envs:EmptyEnv", f"{tmp_path}/grid.py:EmptyEnv", EmptyEnv):
        target = resolve_env(spec)
        assert (target.kind, target.env_id, target.user_code) == (EnvKind.MINIGRID, None, True)
    assert resolve_env("tests.toy_envs:Counter").kind is EnvKind.CUSTOM


def test_a_package_that_does_not_register_the_id_is_named() -> None:
    with pytest.raises(UserError) as err:
        resolve_env("minigrid:MiniGrid-Emtpy-8x8-v0")
    assert "minigrid registers no environment id" in err.value.message
    assert err.value.hint is not None and "MiniGrid-Empty-8x8-v0" in err.value.hint
