"""The Python API (gymsuite.api): train, load and act, evaluate, record and make_env, on tiny budgets.

The agent's actions are checked against the pipeline's own acting (``LoadedAgent.act`` on the env that
``evaluate`` builds), so the API acts exactly as ``gymsuite evaluate`` does: normalised observations,
an LSTM's state carried and zeroed where episodes start.
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import gymnasium as gym
import imageio.v3 as iio
import numpy as np
import pytest
from gymnasium import spaces
from stable_baselines3.common.vec_env import VecEnv, unwrap_vec_normalize

import gymsuite
from gymsuite import api
from gymsuite.agents.saved.loading import load_agent, make_agent_env
from gymsuite.common.errors import UserError

QUIET = {"eval_episodes": 2, "eval_freq": 0, "checkpoint_freq": 0}
PPO_TINY = {"n_steps": 64, "batch_size": 64, "n_epochs": 1}
EVAL_KEYS = {"mean_return", "std_return", "episodes", "mean_length", "min_return", "max_return", "returns",
             "capped_episodes", "deterministic", "algo", "env", "seconds"}


class DictGoal(gym.Env):
    """Dict observations ``{"pos": (2,) float32, "flag": Discrete(3)}``; episodes of 8 steps."""

    observation_space = spaces.Dict({"pos": spaces.Box(-1.0, 1.0, (2,), np.float32), "flag": spaces.Discrete(3)})
    action_space = spaces.Discrete(2)

    def __init__(self, render_mode: str | None = None) -> None:
        self.render_mode, self.t = render_mode, 0

    def _obs(self) -> dict[str, Any]:
        return {"pos": self.np_random.uniform(-1, 1, 2).astype(np.float32), "flag": int(self.np_random.integers(3))}

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[dict[str, Any], dict]:
        super().reset(seed=seed)
        self.t = 0
        return self._obs(), {}

    def step(self, action: Any) -> tuple[dict[str, Any], float, bool, bool, dict]:
        self.t += 1
        return self._obs(), float(action), self.t >= 8, False, {}


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> api.Run:
    """256 steps of PPO on CartPole-v1 with VecNormalize (2 envs), shared by the tests that only read it."""
    return gymsuite.train("ppo", "CartPole-v1", timesteps=256, seed=3, n_envs=2,
                          run_dir=tmp_path_factory.mktemp("api") / "cp", hyperparams={**PPO_TINY, "normalize": True},
                          **QUIET)


def test_train_writes_the_run_and_returns_its_fields(run: api.Run) -> None:
    for name in ("model.zip", "config.yaml", "eval.json", "vecnormalize.npz"):
        assert (run.dir / name).is_file(), name
    assert run.model_path == run.dir / "model.zip"
    assert run.eval == json.loads((run.dir / "eval.json").read_text())
    assert EVAL_KEYS <= run.eval.keys() and run.eval["episodes"] == 2
    assert run.steps == 256 == run.eval["timesteps"] and run.seconds > 0
    assert not run.interrupted and run.signal == 0 and run.video is None
    assert run.mean_return == run.eval["mean_return"]
    cfg = run.config
    assert (cfg.algo, cfg.env, cfg.seed, cfg.n_envs, cfg.timesteps) == ("ppo", "CartPole-v1", 3, 2, 256)
    assert cfg.hyperparams["n_steps"] == 64 and cfg.hyperparams["normalize"] is True
    with pytest.raises(dataclasses.FrozenInstanceError):
        run.steps = 0  # type: ignore[misc]


def test_act_on_one_observation_and_on_a_batch(run: api.Run) -> None:
    agent = gymsuite.load(run.dir)
    assert (agent.algo, agent.env_id, agent.run_dir) == ("ppo", "CartPole-v1", run.dir)
    assert agent.observation_space.shape == (4,) and agent.action_space == spaces.Discrete(2)
    assert agent.model is not None and not agent.recurrent and not agent.uses_masks
    env = agent.make_env()
    obs = [env.reset(seed=s)[0] for s in range(5)]
    one = agent.act(obs[0])
    assert np.shape(one) == () and np.issubdtype(np.asarray(one).dtype, np.integer)
    assert agent.action_space.contains(one)
    batch = agent.act(np.stack(obs))
    assert batch.shape == (5,) and np.issubdtype(batch.dtype, np.integer)
    assert all(agent.action_space.contains(a) for a in batch)
    assert [agent.act(o) for o in obs] == list(batch)  # a batch acts as its rows do
    assert np.array_equal(agent.act(np.stack(obs)), batch)  # greedy: repeatable
    with pytest.raises(UserError, match="fits neither"):
        agent.act(np.zeros(5, np.float32))
    with pytest.raises(UserError, match="action masks"):
        agent.act(obs[0], action_mask=[True, True])


def test_act_normalises_raw_observations_as_evaluate_does(run: api.Run) -> None:
    agent = gymsuite.load(run.dir)
    loaded = load_agent(str(run.dir))
    venv = make_agent_env(loaded, n_envs=3, seed=7)  # evaluate's env: normalised observations
    norm = unwrap_vec_normalize(venv)
    assert norm is not None
    obs, dones = venv.reset(), np.ones(3, dtype=bool)
    for _ in range(30):
        raw = norm.get_original_obs()  # what the env returned, before the run's statistics
        assert not np.allclose(raw, obs)
        expected = loaded.act(obs, venv, episode_start=dones)
        assert np.array_equal(agent.act(raw), expected)
        assert np.array_equal(agent.model.predict(obs, deterministic=True)[0], expected)
        obs, _, dones, _ = venv.step(expected)
    venv.close()


def test_the_random_agent(in_tmp: Path) -> None:
    agent = gymsuite.load("random", env="CartPole-v1")
    assert agent.model is None and agent.algo == "random"
    assert agent.action_space.contains(agent.act(np.zeros(4, np.float32)))
    assert agent.act(np.zeros((3, 4), np.float32)).shape == (3,)
    out = gymsuite.record("random", env="CartPole-v1", episodes=1)
    assert out == Path("videos/random-CartPole-v1.mp4") and out.stat().st_size > 0


@pytest.fixture(scope="module")
def lstm_run(tmp_path_factory: pytest.TempPathFactory) -> api.Run:
    """128 steps of RecurrentPPO (an LSTM of 8) on CartPole-v1, 2 envs."""
    hyper = ["backbone=lstm", "backbone_kwargs={hidden_size: 8}", "n_steps=32", "batch_size=64", "n_epochs=1"]
    return gymsuite.train("ppo", "CartPole-v1", timesteps=128, n_envs=2, hyperparams=hyper,
                          run_dir=tmp_path_factory.mktemp("api") / "lstm", **QUIET)


def test_a_recurrent_agent_carries_its_state_between_calls(lstm_run: api.Run) -> None:
    agent = gymsuite.load(lstm_run.dir)
    assert agent.recurrent and agent.state is None
    env = agent.make_env(seed=1)
    first, _ = env.reset()
    second, *_ = env.step(0)
    agent.act(first)
    agent.act(second)
    after_two = [s.copy() for s in agent.state]
    assert after_two[0].shape == (1, 1, 8)
    agent.reset()
    assert agent.state is None
    agent.act(second)
    fresh = agent.state
    assert not np.allclose(after_two[0], fresh[0])  # the hidden state remembers the first observation
    agent.act(second, episode_start=True)  # an episode's start zeroes it, as reset() does
    assert np.allclose(agent.state[0], fresh[0]) and np.allclose(agent.state[1], fresh[1])
    with pytest.raises(UserError, match="reset"):
        agent.act(np.stack([first, second]))  # a batch of 2 in the middle of one episode


def test_a_recurrent_agent_acts_as_evaluate_makes_it_act(lstm_run: api.Run) -> None:
    agent = gymsuite.load(lstm_run.dir)
    loaded = load_agent(str(lstm_run.dir))
    venv = make_agent_env(loaded, n_envs=2, seed=4, max_episode_steps=9)  # episodes end within the loop
    obs, dones = venv.reset(), np.ones(2, dtype=bool)
    ends = 0
    for _ in range(30):
        expected = loaded.act(obs, venv, episode_start=dones)
        assert np.array_equal(agent.act(obs, episode_start=dones), expected)
        assert all(np.array_equal(a, b) for a, b in zip(agent.state, loaded.memory, strict=True))
        obs, _, dones, _ = venv.step(expected)
        ends += int(dones.sum())
    venv.close()
    assert ends >= 2


def test_dict_observations(tmp_path: Path) -> None:
    run = gymsuite.train("ppo", f"{Path(__file__).resolve()}:DictGoal", timesteps=64, run_dir=tmp_path / "d",
                         n_envs=1, hyperparams={"policy": "MultiInputPolicy", "n_steps": 32, "batch_size": 32,
                                                "n_epochs": 1}, **QUIET)
    agent = gymsuite.load(run.dir)
    assert isinstance(agent.observation_space, spaces.Dict)
    env = agent.make_env()
    obs = [env.reset(seed=s)[0] for s in range(3)]
    one = agent.act(obs[0])
    assert np.shape(one) == () and agent.action_space.contains(one)
    batch = agent.act({"pos": np.stack([o["pos"] for o in obs]), "flag": np.array([o["flag"] for o in obs])})
    assert batch.shape == (3,) and [agent.act(o) for o in obs] == list(batch)
    with pytest.raises(UserError, match="keys"):
        agent.act({"pos": obs[0]["pos"]})


def test_evaluate_returns_the_keys_of_eval_json(run: api.Run) -> None:
    result = gymsuite.evaluate(run.dir, episodes=3, seed=5)
    assert EVAL_KEYS <= result.keys() and result["episodes"] == 3 and len(result["returns"]) == 3
    assert (result["algo"], result["env"], result["deterministic"]) == ("ppo", "CartPole-v1", True)
    again = gymsuite.evaluate(gymsuite.load(run.dir), episodes=3, seed=5)  # an Agent evaluates the same
    assert again["returns"] == result["returns"]
    with pytest.raises(UserError, match="episodes"):
        gymsuite.evaluate(run.dir, episodes=0)


def test_record_writes_an_mp4(run: api.Run, tmp_path: Path) -> None:
    with pytest.warns(UserWarning, match="step cap"):  # 20 steps cut CartPole's episode
        out = gymsuite.record(run.dir, tmp_path / "cp.mp4", episodes=1, max_episode_steps=20)
    assert out == tmp_path / "cp.mp4"
    frames = iio.imread(out)
    assert frames.ndim == 4 and frames.shape[-1] == 3 and 2 <= len(frames) <= 21
    with pytest.raises(UserError, match="mp4"):
        gymsuite.record(run.dir, tmp_path / "cp.avi")


def test_make_env_one_env_or_the_vec_env() -> None:
    env = gymsuite.make_env("CartPole-v1", seed=2)
    assert isinstance(env, gym.Env)
    obs, _ = env.reset()
    assert env.observation_space.contains(obs)
    masked = gymsuite.make_env("CartPole-v1", hyperparams={"mask_velocity": True})
    assert masked.observation_space.shape == (2,)  # the velocities dropped, as a run with mask_velocity sees it
    venv = gymsuite.make_env("CartPole-v1", n_envs=3, seed=2)
    assert isinstance(venv, VecEnv) and venv.num_envs == 3 and venv.reset().shape == (3, 4)
    venv.close()
    with pytest.raises(UserError, match="mask_velocity"):
        gymsuite.make_env("CartPole-v1", hyperparams={"mask_velocty": True})
    with pytest.raises(UserError, match="n_envs"):
        gymsuite.make_env("CartPole-v1", n_envs=0)
    with pytest.raises(UserError, match="CartPole-v1"):
        gymsuite.make_env("CartPol-v1")


@pytest.mark.parametrize(("call", "names"), [
    (lambda d: gymsuite.train("ppx", "CartPole-v1", run_dir=d), "ppo"),
    (lambda d: gymsuite.train("ppo", "CartPol-v1", timesteps=64, run_dir=d), "CartPole-v1"),
    (lambda d: gymsuite.train("ppo", "CartPole-v1", n_env=2, run_dir=d), "n_envs"),
    (lambda d: gymsuite.train("ppo", "CartPole-v1", hyperparams={"learning_rat": 1e-3}, run_dir=d), "learning_rate"),
    (lambda d: gymsuite.train("ppo", "CartPole-v1", hyperparams="gamma=0.9", run_dir=d), "gamma=0.9"),
    (lambda d: gymsuite.load(d), "no such run"),
    (lambda d: gymsuite.load("random"), "env"),
])
def test_mistakes_raise_user_errors_and_write_nothing(tmp_path: Path, call: Any, names: str) -> None:
    with pytest.raises(UserError, match=names):  # a SystemExit would escape pytest.raises and fail the test
        call(tmp_path / "run")
    assert not (tmp_path / "run").exists()


def test_import_gymsuite_registers_the_envs_and_stays_light() -> None:
    code = ("import sys, gymnasium as gym, gymsuite\n"
            "heavy = sorted({'torch', 'stable_baselines3', 'sb3_contrib', 'gymsuite.api'} & set(sys.modules))\n"
            "assert not heavy, heavy\n"
            "env = gym.make('gymsuite/CartPoleNoVel-v0')\n"
            "assert env.reset(seed=0)[0].shape == (2,)\n"
            "assert callable(gymsuite.train) and 'torch' in sys.modules  # the API, loaded on first use\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert gymsuite._API == set(api.__all__) and set(gymsuite.__all__) == {*api.__all__, "UserError"}
    for name in api.__all__:
        assert getattr(gymsuite, name) is getattr(api, name) and getattr(api, name).__doc__


def test_the_api_leaves_the_heavy_optional_libraries_to_the_features_that_use_them() -> None:
    """captum (with matplotlib), onnxruntime, scipy.stats and scipy.ndimage took 2.4 of the 4.4 s that importing
    the API took, paid by every command at start; explain, export, the reports and the defences import them."""
    code = ("import sys, gymsuite.api\n"
            "late = ('captum', 'onnxruntime', 'scipy.stats', 'scipy.ndimage', 'matplotlib.pyplot')\n"
            "print(sorted(m for m in late if m in sys.modules))\n")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_a_masked_agent_takes_only_legal_actions(tmp_path: Path) -> None:
    run = gymsuite.train("selfplay", "pettingzoo.classic.tictactoe_v3", timesteps=128, n_envs=2, run_dir=tmp_path / "t",
                         hyperparams={"n_steps": 64, "batch_size": 64, "n_epochs": 1}, **QUIET)
    agent = gymsuite.load(run.dir)
    assert agent.uses_masks and agent.action_space == spaces.Discrete(9)
    venv = agent.make_env(n_envs=2)
    obs = venv.reset()
    venv.close()
    only = np.zeros((2, 9), dtype=bool)
    only[0, 7], only[1, 2] = True, True
    assert list(agent.act(obs, action_mask=only)) == [7, 2]
    assert agent.act(obs[1], action_mask=only[1]) == 2 and agent.act(obs[0], False, action_mask=only[0]) == 7
    with pytest.raises(UserError, match="action_mask"):
        agent.act(obs[0])
