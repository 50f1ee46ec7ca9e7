"""The one reader of SB3 model zips, and the two loaders built on it (agents, experts)."""

from __future__ import annotations

import zipfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from stable_baselines3 import A2C, DQN, PPO, SAC
from stable_baselines3.common.base_class import BaseAlgorithm

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files.modelfile import UnknownAlgorithmError, read_model_file
from gymsuite.agents.saved.experts import load_expert
from gymsuite.agents.saved.loading import load_agent
from gymsuite.common.errors import UserError

CARTPOLE_WEIGHTS = [[0, 0, -50, -25], [0, 0, 50, 25]]


def saved(tmp_path: Path, name: str, model: BaseAlgorithm) -> Path:
    """``model`` saved as a bare zip (no run directory around it)."""
    path = tmp_path / name / "model.zip"
    path.parent.mkdir()
    model.save(path)
    return path


@pytest.fixture(scope="module")
def zips(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Untrained models of each kind, saved as bare zips (only the file's metadata matters here)."""
    root = tmp_path_factory.mktemp("zips")
    return {"ppo": saved(root, "ppo", PPO("MlpPolicy", "CartPole-v1", n_steps=8, batch_size=8)),
            "a2c": saved(root, "a2c", A2C("MlpPolicy", "CartPole-v1")),
            "dqn": saved(root, "dqn", DQN("MlpPolicy", "CartPole-v1", buffer_size=100)),
            "pg": saved(root, "pg", registry.get("pg4").make_model("MlpPolicy", "CartPole-v1", {"n_steps": 8})),
            "sac": saved(root, "sac", SAC("MlpPolicy", "Pendulum-v1", buffer_size=100))}


@pytest.mark.parametrize(("kind", "algo_class", "actor_critic"), [
    ("ppo", "PPO", True), ("dqn", "DQN", False), ("pg", "PolicyGradient", True), ("sac", "SAC", False),
    ("a2c", None, True)])  # A2C saves nothing of its own: its zip looks like any actor-critic's
def test_reader_names_the_class_that_saved_a_zip(zips: dict[str, Path], kind: str, algo_class: str | None,
                                                 actor_critic: bool) -> None:
    info = read_model_file(zips[kind])
    assert (info.algo_class, info.actor_critic, info.path) == (algo_class, actor_critic, zips[kind])


@pytest.mark.parametrize("make", [
    lambda p, good: p.write_bytes(b"not a zip at all"),
    lambda p, good: p.write_bytes(good.read_bytes()[:300]),
    lambda p, good: zipfile.ZipFile(p, "w").close(),  # a zip without SB3's "data"
    lambda p, good: zipfile.ZipFile(p, "w").writestr("data", "{not json"),
])
def test_reader_refuses_what_is_not_an_sb3_zip(zips: dict[str, Path], tmp_path: Path,
                                               make: Callable[[Path, Path], object]) -> None:
    bad = tmp_path / "m.zip"
    make(bad, zips["ppo"])
    with pytest.raises(UserError, match="is not an SB3 model file") as err:
        read_model_file(bad)
    assert err.value.hint == "pass a model.zip saved by SB3 or gymsuite"
    with pytest.raises(UserError, match="is not an SB3 model file"):
        load_agent(str(bad))


def test_load_agent_reads_the_algorithm_from_a_bare_zip(zips: dict[str, Path]) -> None:
    assert [load_agent(str(zips[k])).algo for k in ("ppo", "dqn", "pg")] == ["ppo", "dqn", "pg"]
    assert load_agent(str(zips["a2c"]), algo="a2c").algo == "a2c"
    for kind in ("a2c", "sac"):  # not told by the file / not trained by gymsuite: the user names it
        with pytest.raises(UnknownAlgorithmError, match="cannot tell which algorithm saved") as err:
            load_agent(str(zips[kind]))
        assert err.value.hint == "pass --algo (e.g. --algo ppo)" and err.value.model_file.path == zips[kind]


def test_load_expert_from_a_run_directory_and_from_bare_zips(zips: dict[str, Path], tmp_path: Path,
                                                             linear_expert: Callable[..., PPO]) -> None:
    run = tmp_path / "run"
    model = linear_expert("CartPole-v1", CARTPOLE_WEIGHTS, run)
    obs = np.random.default_rng(0).normal(size=(16, 4)).astype(np.float32)
    for target, env in ((run, None), (run / "model.zip", None), (zips["a2c"], "CartPole-v1"),
                        (zips["pg"], "CartPole-v1"), (zips["dqn"], "CartPole-v1"), (zips["sac"], "Pendulum-v1")):
        expert, env_spec = load_expert(str(target), env=env)
        assert env_spec == (env or "CartPole-v1")
        assert expert.observation_space.shape == ((3,) if env_spec == "Pendulum-v1" else (4,))
    expert, _ = load_expert(str(run))  # the run's own model acts through the expert unchanged
    np.testing.assert_array_equal(expert.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
    assert expert.queries == 16
    with pytest.raises(UserError, match="pass --env ENV"):
        load_expert(str(zips["ppo"]))
    with pytest.raises(UserError, match="cannot tell which algorithm saved"):  # no SB3 policy module at all
        bare = tmp_path / "foreign.zip"
        with zipfile.ZipFile(zips["ppo"]) as src, zipfile.ZipFile(bare, "w") as dst:
            for item in src.infolist():
                data = src.read(item).replace(b"stable_baselines3.common.policies", b"somewhere.else.policies")
                dst.writestr(item, data)
        load_expert(str(bare), env="CartPole-v1")
