"""Atari through the pipeline: zoo defaults, the env path a run takes, clipped learning reward, replay RAM."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.agents.algorithms import registry
from gymsuite.agents.files import replaymemory
from gymsuite.agents.run import training
from gymsuite.agents.run.config import build_config, defaults_for
from gymsuite.agents.run.options import run_options
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.envs.atari_vector import NativeAtariVecEnv
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions
from gymsuite.rewards.clipping import ClipReward, VecClipReward


def test_every_atari_id_gets_the_zoo_atari_defaults() -> None:
    for algo in ("ppo", "a2c", "dqn"):
        for env in ("ALE/Breakout-v5", "PongNoFrameskip-v4"):
            assert defaults_for(algo, env)["policy"] == "CnnPolicy"
    assert defaults_for("ppo", "ALE/Pong-v5")["n_steps"] == 128
    assert defaults_for("ppo", "CartPole-v1")["policy"] == "MlpPolicy"
    with pytest.raises(UserError):
        build_config({"algo": "ppo", "env": "ALE/Pong-v5"}, overrides=["atari={framestack: 2}"])


def _env(overrides: list[str], algo: str = "ppo") -> object:
    cfg = build_config({"algo": algo, "env": "ALE/Pong-v5", "n_envs": 2}, overrides=overrides)
    venv, _ = training._build_env(cfg, registry.get(algo), run_options(cfg.hyperparams, cfg.env))
    venv.close()
    return venv


def test_native_path_by_default_and_wrappers_when_the_run_needs_them() -> None:
    native = _env([])
    assert isinstance(native, VecClipReward) and isinstance(native.venv, NativeAtariVecEnv)
    assert isinstance(_env(["atari={clip_reward: false}"]), NativeAtariVecEnv)
    for opts in ("atari={episodic_life: true}", "atari={native: false}"):
        assert isinstance(_env([opts]).unwrapped, DummyVecEnv)


class _Fives(gym.Env):
    observation_space = gym.spaces.Box(0, 1, (1,))
    action_space = gym.spaces.Discrete(2)

    def reset(self, *, seed: int | None = None, options: dict | None = None) -> tuple[np.ndarray, dict]:
        return np.zeros(1, np.float32), {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        return np.zeros(1, np.float32), -5.0, True, False, {}


def test_clipping_is_for_learning_only() -> None:
    from stable_baselines3.common.monitor import Monitor

    venv = VecClipReward(DummyVecEnv([lambda: Monitor(_Fives())]))
    venv.reset()
    _, rewards, _, infos = venv.step(np.array([0]))
    assert rewards.tolist() == [-1.0]
    assert infos[0]["env_reward"] == -5.0 and infos[0]["episode"]["r"] == -5.0


def test_replay_buffer_estimate() -> None:
    obs, act = gym.spaces.Box(0, 255, (4, 84, 84), np.uint8), gym.spaces.Discrete(6)
    assert replaymemory.replay_bytes(1000, obs, act) == 1000 * (2 * 28_224 + 8 + 12)
    assert replaymemory.replay_bytes(1000, obs, act, optimize_memory_usage=True) == 1000 * (28_224 + 8 + 12)


def test_image_dqn_too_big_for_ram_is_refused_before_the_run_exists(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(replaymemory, "available_bytes", lambda: 2 * 2**30)  # 2 GiB free
    cfg = build_config({"algo": "dqn", "env": "ALE/Pong-v5", "timesteps": 100}, overrides=["learning_starts=10"])
    run = tmp_path / "run"
    with pytest.raises(UserError) as err:
        training.train(cfg, run)  # the zoo's 100,000 transitions: 5.3 GiB
    assert "5.3 GiB" in str(err.value) and "2.0 GiB" in str(err.value)
    assert "buffer_size=" in str(err.value.hint) and "optimize_memory_usage=true" in str(err.value.hint)
    assert not run.exists()
    fits = build_config({"algo": "dqn", "env": "ALE/Pong-v5", "timesteps": 100},
                        overrides=["learning_starts=10", "buffer_size=20000"])
    training.prepare(fits).venv.close()  # 20,000 transitions: 1.1 GiB


FORMS = ("ALE/Pong-v5", "ale_py:ALE/Pong-v5")
V4_FORMS = ("PongNoFrameskip-v4", "ale_py:PongNoFrameskip-v4")


@pytest.mark.parametrize("env", [*FORMS, *V4_FORMS])
def test_every_form_of_an_atari_id_gets_the_atari_defaults(env: str) -> None:
    for algo in ("ppo", "a2c", "dqn"):
        assert defaults_for(algo, env) == defaults_for(algo, "ALE/Breakout-v5")
    assert build_config({"algo": "ppo", "env": env}).hyperparams["policy"] == "CnnPolicy"


def _observed(env: str, overrides: list[str]) -> tuple[tuple, np.dtype, bool, tuple]:
    """What a run on ``env`` trains on (shape, dtype, reward clipped) and what its evaluation env observes."""
    cfg = build_config({"algo": "ppo", "env": env, "n_envs": 1}, overrides=overrides)
    venv, _ = training._build_env(cfg, registry.get("ppo"), run_options(cfg.hyperparams, cfg.env))
    try:
        clipped = isinstance(venv, VecClipReward) or any(venv.env_is_wrapped(ClipReward))
        trained = (venv.observation_space.shape, venv.observation_space.dtype, clipped)
    finally:
        venv.close()
    evaluated = make_agent_env(LoadedAgent(None, "random", env, hyperparams=cfg.hyperparams))
    try:
        return (*trained, (evaluated.observation_space.shape, evaluated.reset().shape))
    finally:
        evaluated.close()


@pytest.mark.parametrize("forms", [FORMS, V4_FORMS])
@pytest.mark.parametrize("overrides", [[], ["atari={native: false}"]])
def test_every_form_of_an_atari_id_is_preprocessed_and_clipped_alike(forms: tuple[str, str],
                                                                     overrides: list[str]) -> None:
    bare, package_form = (_observed(env, overrides) for env in forms)
    assert bare == package_form == ((4, 84, 84), np.dtype(np.uint8), True, ((4, 84, 84), (1, 4, 84, 84)))


def test_a_v4_id_in_package_form_skips_frames_like_the_bare_id() -> None:
    """NoFrameskip-v4 steps one frame per action unless gymsuite's preprocessing skips 4: count the frames."""
    frames = []
    for env in V4_FORMS:
        options = EnvOptions.parse({"atari": {"noop_max": 0, "fire_reset": False}})
        venv = make_env(env, n_envs=1, seed=0, options=options)
        try:
            venv.reset()
            before = venv.envs[0].unwrapped.ale.getEpisodeFrameNumber()
            venv.step(np.array([0]))
            frames.append(venv.envs[0].unwrapped.ale.getEpisodeFrameNumber() - before)
        finally:
            venv.close()
    assert frames == [4, 4]
