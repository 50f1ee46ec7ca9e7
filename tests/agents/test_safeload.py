"""Loading a model never unpickles by default: crafted zips are refused, gymsuite's own models load the same.

A crafted zip carries, in its ``data`` JSON, a pickle that creates a marker file when unpickled;
every load path (evaluate, record, resume, an expert) must refuse it without creating the marker,
and ``--trust-pickle`` must load it SB3's way (the marker shows that SB3 did unpickle it).
"""

from __future__ import annotations

import base64
import json
import pickle
import shutil
import sys
import types
import zipfile
from pathlib import Path
from typing import Any

import cloudpickle
import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.vec_env import VecNormalize

from gymsuite.agents.algorithms.policy_gradient import PolicyGradient
from gymsuite.agents.files.normstats import load_stats, save_stats
from gymsuite.agents.files.replayfile import load_replay
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.files.safeload import keep_description
from gymsuite.agents.run.config import build_config
from gymsuite.agents.run.training import resume, train
from gymsuite.agents.saved.experts import load_expert
from gymsuite.agents.saved.loading import load_agent, load_model_file, make_agent_env
from gymsuite.commands import cli
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env


class _CreatesFile:
    """Unpickling this opens (so creates) ``path``: the stand-in for arbitrary code."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def __reduce__(self) -> tuple[Any, ...]:
        return open, (str(self.path), "w")


def craft(model_zip: Path, marker: Path, key: str = "evil") -> Path:
    """Rewrite ``model_zip`` in place with a pickled ``key`` in its ``data`` JSON, as SB3 stores objects."""
    with zipfile.ZipFile(model_zip) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    data = json.loads(members["data"])
    data[key] = {":type:": "<class 'object'>",
                 ":serialized:": base64.b64encode(pickle.dumps(_CreatesFile(marker))).decode()}
    members["data"] = json.dumps(data).encode()
    with zipfile.ZipFile(model_zip, "w") as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return model_zip


@pytest.fixture
def no_unpickling(monkeypatch: pytest.MonkeyPatch) -> None:
    """SB3 decodes its JSON's objects with ``cloudpickle.loads``: while this is on, any call fails the test."""
    monkeypatch.setattr(cloudpickle, "loads", _refuse)


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Tiny finished runs of each algorithm gymsuite trains (pg with a shared trunk), with checkpoints."""
    root = tmp_path_factory.mktemp("safe-runs")
    hyper = {"ppo": ["n_steps=64", "batch_size=32", "learning_rate=lin_0.001"], "a2c": [],
             "dqn": ["learning_starts=50", "buffer_size=500"], "pg": ["share_trunk=true", "n_steps=64"]}
    out = {}
    for algo, extra in hyper.items():
        cfg = build_config({"algo": algo, "env": "CartPole-v1", "timesteps": 256, "eval_episodes": 1,
                            "checkpoint_freq": 128}, None, extra)
        out[algo] = train(cfg, root / algo).run.root
    return out


@pytest.mark.parametrize("algo", ["ppo", "a2c", "dqn", "pg"])
def test_gymsuite_models_load_safely_and_act_as_sb3_loads_them(runs: dict[str, Path], algo: str) -> None:
    cls = {"ppo": PPO, "a2c": A2C, "dqn": DQN, "pg": PolicyGradient}[algo]
    model_zip = runs[algo] / "model.zip"
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cloudpickle, "loads", _refuse)
        safe = load_model_file(cls, model_zip)
    trusted = load_model_file(cls, model_zip, trust_pickle=True)  # SB3's own load
    obs = np.random.default_rng(0).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(safe.predict(obs, deterministic=True)[0], trusted.predict(obs, deterministic=True)[0])
    assert safe.num_timesteps == trusted.num_timesteps
    assert type(safe.policy) is type(trusted.policy)
    assert type(safe.policy.features_extractor) is type(trusted.policy.features_extractor)
    for (name, a), (_, b) in zip(safe.policy.state_dict().items(), trusted.policy.state_dict().items(), strict=True):
        assert torch_equal(a, b), name
    if algo == "ppo":  # lin_0.001 is rebuilt, not made a constant
        assert safe.lr_schedule(0.5) == pytest.approx(trusted.lr_schedule(0.5)) == pytest.approx(5e-4)
        PPO.load(model_zip)  # and plain SB3 still loads gymsuite's zip


def _refuse(*_: object, **__: object) -> None:
    raise AssertionError("a load unpickled")


def torch_equal(a: Any, b: Any) -> bool:
    return bool((a == b).all())


def test_crafted_zip_is_refused_by_evaluate_and_record_without_running_it(runs: dict[str, Path],
                                                                          tmp_path: Path) -> None:
    run = tmp_path / "run"
    shutil.copytree(runs["ppo"], run)
    marker = tmp_path / "marker"
    craft(run / "model.zip", marker)
    craft(run / "best_model.zip", marker)
    assert cli.main(["evaluate", str(run), "--episodes", "1"]) == 2
    assert cli.main(["evaluate", str(run), "--best", "--episodes", "1"]) == 2
    assert cli.main(["evaluate", str(run / "model.zip"), "--episodes", "1"]) == 2
    assert cli.main(["record", str(run), "--out", str(tmp_path / "a.mp4")]) == 2
    assert not marker.exists()
    with pytest.raises(UserError, match="'evil'"):  # the message names the field
        load_agent(str(run))
    assert not marker.exists()
    load_agent(str(run), trust_pickle=True)  # --trust-pickle: SB3's load, which runs the pickle
    assert marker.exists()


def test_crafted_expert_is_refused_without_running_it(runs: dict[str, Path], tmp_path: Path) -> None:
    marker = tmp_path / "marker"
    zip_path = craft(Path(shutil.copy(runs["ppo"] / "model.zip", tmp_path / "expert.zip")), marker)
    for target in (zip_path, runs["ppo"]):
        if target != zip_path:
            run = shutil.copytree(target, tmp_path / "expert-run")
            craft(run / "model.zip", marker)
            target = run
        with pytest.raises(UserError, match="'evil'"):
            load_expert(str(target), env="CartPole-v1")
        assert cli.main(["collect-demos", str(target), "--env", "CartPole-v1", "--episodes", "1",
                         "--out", str(tmp_path / "d.npz")]) == 2
        assert not marker.exists()
    load_expert(str(zip_path), env="CartPole-v1", trust_pickle=True)
    assert marker.exists()


def test_crafted_checkpoint_is_refused_on_resume_without_running_it(runs: dict[str, Path], tmp_path: Path) -> None:
    run = shutil.copytree(runs["dqn"], tmp_path / "run")
    marker = tmp_path / "marker"
    ckpt = RunDir(run).checkpoint(128)  # what an interrupted run leaves
    ckpt.parent.mkdir(exist_ok=True)
    craft(Path(shutil.copy(run / "model.zip", ckpt)), marker)
    with pytest.raises(UserError, match="'evil'"):
        resume(run)
    assert not marker.exists()


def test_resume_of_a_gymsuite_run_loads_safely(runs: dict[str, Path], tmp_path: Path, no_unpickling: None) -> None:
    run = shutil.copytree(runs["ppo"], tmp_path / "run")
    ckpt = RunDir(run).checkpoint(128)
    ckpt.parent.mkdir(exist_ok=True)
    shutil.copy(run / "model.zip", ckpt)
    (run / "model.zip").unlink()
    result = resume(run)
    assert result.steps >= 256
    assert load_model_file(PPO, run / "model.zip").lr_schedule(1.0) == pytest.approx(1e-3)


def test_normalisation_statistics_round_trip_without_pickle(in_tmp: Path, no_unpickling: None) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 256, "eval_episodes": 1},
                       None, ["n_steps=64", "batch_size=32", "normalize=true"])
    run = train(cfg, "run").run
    assert run.vecnormalize.name == "vecnormalize.npz" and not run.legacy_vecnormalize.exists()
    with np.load(run.vecnormalize, allow_pickle=False) as stored:  # plain arrays only
        assert stored["obs_rms.mean"].shape == (4,) and float(stored["obs_rms.count"]) > 256
    venv = make_env("CartPole-v1", n_envs=1)
    saved = load_stats(run.vecnormalize, venv)
    save_stats(saved, in_tmp / "again.npz")
    again = load_stats(in_tmp / "again.npz", make_env("CartPole-v1", n_envs=1))
    np.testing.assert_array_equal(saved.obs_rms.mean, again.obs_rms.mean)
    np.testing.assert_array_equal(saved.obs_rms.var, again.obs_rms.var)
    fields = ("clip_obs", "clip_reward", "gamma", "epsilon", "norm_obs", "norm_reward", "training")
    assert [getattr(saved, f) for f in fields] == [getattr(again, f) for f in fields]
    assert (saved.obs_rms.count, saved.ret_rms.count) == (again.obs_rms.count, again.ret_rms.count)
    agent = load_agent(str(run.root))
    assert isinstance(make_agent_env(agent), VecNormalize)


def test_a_pickled_vecnormalize_loads_only_with_trust_pickle(in_tmp: Path) -> None:
    cfg = build_config({"algo": "ppo", "env": "CartPole-v1", "timesteps": 256, "eval_episodes": 1},
                       None, ["n_steps=64", "batch_size=32", "normalize=true"])
    run = train(cfg, "run").run
    legacy = load_stats(run.vecnormalize, make_env("CartPole-v1", n_envs=1))
    legacy.save(str(run.legacy_vecnormalize))  # what older gymsuite versions wrote
    run.vecnormalize.unlink()
    with pytest.raises(UserError, match="vecnormalize.pkl"):
        make_agent_env(load_agent(str(run.root)))
    assert cli.main(["evaluate", str(run.root), "--episodes", "1"]) == 2
    assert cli.main(["evaluate", str(run.root), "--episodes", "1", "--trust-pickle"]) == 0
    norm = make_agent_env(load_agent(str(run.root), trust_pickle=True))
    assert isinstance(norm, VecNormalize)
    np.testing.assert_array_equal(norm.obs_rms.mean, legacy.obs_rms.mean)


def test_a_zoo_model_with_schedules_of_a_missing_module_loads_with_constant_schedules(tmp_path: Path) -> None:
    """rl-baselines3-zoo saves its ``linear_schedule`` functions pickled by reference to ``rl_zoo3``."""
    fake = types.ModuleType("rl_zoo_fake_utils")
    fake.__file__ = "rl_zoo_fake_utils.py"  # a module with a file: cloudpickle saves its functions by reference
    exec("def linear_schedule(progress):\n    return 3e-4 * progress\n", fake.__dict__)  # noqa: S102
    sys.modules[fake.__name__] = fake
    try:
        model = PPO("MlpPolicy", "CartPole-v1", n_steps=64, batch_size=32, learning_rate=fake.linear_schedule,
                    clip_range=fake.linear_schedule, device="cpu")
        model.save(tmp_path / "zoo.zip")
    finally:
        del sys.modules[fake.__name__]
    agent = load_agent(str(tmp_path / "zoo.zip"), env="CartPole-v1")  # the safe path: schedules become constants
    assert agent.model is not None
    obs = np.zeros((3, 4), dtype=np.float32)
    np.testing.assert_array_equal(agent.model.predict(obs, deterministic=True)[0],
                                  model.predict(obs, deterministic=True)[0])
    with pytest.raises(UserError, match="'rl_zoo_fake_utils'"):  # SB3's own load needs the module: a clear error
        load_agent(str(tmp_path / "zoo.zip"), env="CartPole-v1", trust_pickle=True)


def test_dqn_checkpoints_keep_the_replay_buffer_without_pickle(in_tmp: Path) -> None:
    cfg = build_config({"algo": "dqn", "env": "CartPole-v1", "timesteps": 512, "eval_episodes": 1,
                        "checkpoint_freq": 256, "n_envs": 1}, None, ["learning_starts=100", "buffer_size=1000"])
    run = train(cfg, "run").run
    steps = run.latest_checkpoint()
    assert steps is not None
    replay = run.checkpoint(steps, "_replay.npz")
    assert replay.is_file() and not list(run.checkpoints.glob("*.pkl"))
    model = load_model_file(DQN, run.checkpoint(steps))
    assert model.replay_buffer is not None
    load_replay(replay, model.replay_buffer)
    with np.load(replay, allow_pickle=False) as stored:
        assert int(stored["pos"]) == model.replay_buffer.pos == steps
        np.testing.assert_array_equal(model.replay_buffer.observations[:steps], stored["observations"])
    # a pickled buffer (older versions) is refused on resume, and loads with --trust-pickle
    model.save_replay_buffer(run.checkpoint(steps, "_replay.pkl"))
    replay.unlink()
    with pytest.raises(UserError, match="_replay.pkl"):
        resume(run.root)
    resume(run.root, trust_pickle=True)


def test_imitation_outputs_load_safely_and_act_as_sb3_loads_them(runs: dict[str, Path], in_tmp: Path) -> None:
    demos = in_tmp / "demos.npz"
    assert cli.main(["collect-demos", str(runs["ppo"]), "--episodes", "2", "--out", str(demos)]) == 0
    assert cli.main(["train", "--algo", "bc", "--env", "CartPole-v1", "--demos", str(demos), "--run-dir", "bc",
                     "--timesteps", "64", "--eval-episodes", "1", "--eval-freq", "0"]) == 0
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cloudpickle, "loads", _refuse)
        safe = load_agent("bc").model
    trusted = load_agent("bc", trust_pickle=True).model
    assert safe is not None and trusted is not None
    obs = np.random.default_rng(1).normal(size=(64, 4)).astype(np.float32)
    np.testing.assert_array_equal(safe.predict(obs, deterministic=True)[0], trusted.predict(obs, deterministic=True)[0])


class _DictObs(gym.Env):
    """A Dict observation with uneven bounds: SB3's printed form of it cannot be read back."""

    observation_space = gym.spaces.Dict({
        "pos": gym.spaces.Box(np.array([-1, 0], np.float32), np.array([1, 5], np.float32), dtype=np.float32),
        "mode": gym.spaces.Discrete(3)})
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        return self.observation_space.sample(), {}

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        return self.observation_space.sample(), 0.0, False, False, {}


def test_gymsuite_saves_describe_their_spaces_so_dict_observations_load_safely(tmp_path: Path,
                                                                               no_unpickling: None) -> None:
    model = PPO("MultiInputPolicy", _DictObs(), n_steps=16, batch_size=16, device="cpu")
    model.save(tmp_path / "sb3.zip")  # SB3's own save: its Dict space is only a pickle
    with pytest.raises(UserError, match="'observation_space'"):
        load_model_file(PPO, tmp_path / "sb3.zip")
    keep_description(model)  # what gymsuite does to every model it trains
    model.save(tmp_path / "gymsuite.zip")
    loaded = load_model_file(PPO, tmp_path / "gymsuite.zip")
    assert loaded.observation_space == model.observation_space
    obs = {"pos": np.array([[0.5, 2.0]], dtype=np.float32), "mode": np.array([1])}
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])
