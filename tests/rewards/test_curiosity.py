"""Curiosity (ICM, RND, raw prediction): bonuses, novelty, the noisy TV, attach() errors, SB3 algorithms, save/load."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest
import torch
from stable_baselines3 import A2C, DQN, PPO
from stable_baselines3.common.vec_env import DummyVecEnv

from gymsuite.common.errors import UserError
from gymsuite.envs.custom.noisy_tv import NoisyTVGridEnv
from gymsuite.envs.custom.sparse_grid import SparseGridEnv
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions
from gymsuite.rewards.curiosity import CuriosityBonus, CuriosityCallback, attach
from tests.toy_envs import Corridor

torch.set_num_threads(1)


def grid_transitions(env: gym.Env, cells: list[tuple[int, int]], repeats: int) -> tuple[np.ndarray, ...]:
    """Every action from every cell, ``repeats`` times: obs ``(B, O)``, actions ``(B,)``, next obs ``(B, O)``."""
    grid = env.grid if isinstance(env, NoisyTVGridEnv) else env
    obs, actions, next_obs = [], [], []
    for _ in range(repeats):
        for cell in cells:
            for action in range(env.action_space.n):
                grid.pos = np.array(cell)
                before = env._observe(grid._obs(), {})[0] if isinstance(env, NoisyTVGridEnv) else grid._obs()
                after = env.step(action)[0]
                obs.append(before)
                actions.append(action)
                next_obs.append(after)
    return np.array(obs), np.array(actions), np.array(next_obs)


def train_on(bonus: CuriosityBonus, callback: CuriosityCallback, data: tuple[np.ndarray, ...], updates: int) -> None:
    bonus.normalizer.update(data[0])
    for _ in range(updates):
        bonus._buffer = [data]
        callback.update()


def attached(env_id: str, method: str, n_envs: int = 1, **options: object) -> tuple[CuriosityBonus, CuriosityCallback]:
    return attach(make_env(env_id, n_envs=n_envs, seed=0), method, seed=0, **options)


@pytest.mark.parametrize("method", ["icm", "rnd"])
def test_bonus_falls_on_visited_states_and_stays_high_on_new_ones(method: str) -> None:
    env = SparseGridEnv(size=10)
    env.reset(seed=0)
    seen = [(x, y) for x in range(4) for y in range(10)]
    unseen = [(x, y) for x in range(7, 10) for y in range(10) if (x, y) != (9, 9)]
    data = grid_transitions(env, seen, 20)
    bonus, callback = attached("gymsuite/SparseGrid-v0", method)
    train_on(bonus, callback, data, 1)
    before = bonus.intrinsic_reward(*data).mean()
    train_on(bonus, callback, data, 40)  # ICM's 32 features fall 4.4x in 30 updates, 5.6x in 40 (64: 7.4x, 10x)
    familiar = bonus.intrinsic_reward(*grid_transitions(env, seen, 1)).mean()
    novel = bonus.intrinsic_reward(*grid_transitions(env, unseen, 1)).mean()
    assert familiar < before / 5
    assert novel > 10 * familiar


def test_noisy_tv_distracts_raw_prediction_but_not_icm() -> None:
    """The screen's noise is new every step. Raw next-observation prediction pays more for staring at it
    than for really new places; ICM, whose features only need to tell actions apart, pays less."""
    env = NoisyTVGridEnv(size=6, tv=(0, 2))
    env.reset(seed=0)
    seen = [(x, y) for x in range(3) for y in range(6)]
    unseen = [(x, y) for x in range(4, 6) for y in range(6) if (x, y) != (5, 5)]
    data = grid_transitions(env, seen, 40)
    tv_obs, tv_act, tv_next = grid_transitions(env, [(0, 2)], 20)
    staying = tv_act == 4  # keep watching
    watching = (tv_obs[staying], tv_act[staying], tv_next[staying])
    novel = grid_transitions(env, unseen, 2)
    paid = {}
    for method in ("icm", "raw"):
        bonus, callback = attach(DummyVecEnv([lambda: NoisyTVGridEnv(size=6, tv=(0, 2))]), method, seed=0)
        train_on(bonus, callback, data, 40)
        paid[method] = bonus.intrinsic_reward(*watching).mean() / bonus.intrinsic_reward(*novel).mean()
    assert paid["icm"] < 1.0 < paid["raw"]
    assert paid["raw"] > 1.5 * paid["icm"]


def test_reward_adds_the_bonus_and_info_keeps_the_env_reward() -> None:
    bonus, callback = attached("gymsuite/SparseGrid-v0", "rnd", n_envs=2, intrinsic_weight=0.5)
    bonus.reset()
    _, reward, _, infos = bonus.step(np.array([0, 1]))
    assert [i["intrinsic_reward"] for i in infos] == [0.0, 0.0]  # warm-up: no bonus before the first update
    callback.update()
    for _ in range(30):
        _, reward, dones, infos = bonus.step(np.array([0, 1]))
        for r, info in zip(reward, infos, strict=True):
            assert info["intrinsic_reward"] > 0
            assert r == pytest.approx(info["env_reward"] + info["intrinsic_reward"], rel=1e-6)
    only, callback = attached("gymsuite/SparseGrid-v0", "rnd", intrinsic_only=True)
    only.reset()
    only.step(np.array([0]))
    callback.update()
    _, reward, _, infos = only.step(np.array([0]))
    assert reward[0] == pytest.approx(infos[0]["intrinsic_reward"])


def test_finished_episode_uses_the_terminal_observation() -> None:
    venv = make_env("gymsuite/SparseGrid-v0", seed=0, options=EnvOptions(env_kwargs={"size": 2}))
    bonus, _ = attach(venv, "icm", seed=0)
    first = bonus.reset()
    bonus.step(np.array([0]))
    obs, _, dones, infos = bonus.step(np.array([1]))  # (1, 0) -> (1, 1): the goal
    assert dones[0] and "episode_intrinsic" in infos[0]
    _, actions, next_obs = bonus.take_transitions()
    np.testing.assert_array_equal(next_obs[-1], [1.0, 1.0])  # s', not the next episode's first obs
    np.testing.assert_array_equal(obs[0], first[0])
    assert actions.tolist() == [0, 1]


def test_save_load_restores_the_model(tmp_path: Path) -> None:
    bonus, callback = attached("gymsuite/SparseGrid-v0", "icm")
    data = grid_transitions(SparseGridEnv(10), [(0, 0), (1, 1)], 2)
    train_on(bonus, callback, data, 3)
    callback.save(tmp_path / "curiosity.pt")
    fresh, fresh_callback = attach(make_env("gymsuite/SparseGrid-v0", seed=1), "icm", seed=5)
    fresh_callback.load(tmp_path / "curiosity.pt")
    np.testing.assert_allclose(fresh.intrinsic_reward(*data), bonus.intrinsic_reward(*data), rtol=1e-6)
    assert fresh.trained and fresh_callback.updates == 3
    other, other_callback = attached("gymsuite/SparseGrid-v0", "rnd")
    with pytest.raises(UserError, match="holds a 'icm' curiosity model"):
        other_callback.load(tmp_path / "curiosity.pt")
    with pytest.raises(UserError, match="does not fit"):
        attached("gymsuite/SparseGrid-v0", "icm", features=8)[1].load(tmp_path / "curiosity.pt")
    with pytest.raises(UserError, match="does not exist"):
        callback.load(tmp_path / "nothing.pt")


@pytest.mark.parametrize("env_id, method, given, features", [
    ("MountainCar-v0", "icm", None, 32), ("MountainCar-v0", "rnd", None, 64), ("MountainCar-v0", "raw", None, 64),
    ("MountainCar-v0", "icm", 64, 64), ("gymsuite/PixelCartPole-v0", "icm", None, 64),
])
def test_feature_size_defaults_by_method_and_observations(env_id: str, method: str, given: int | None,
                                                          features: int, tmp_path: Path) -> None:
    """32 features for ICM on vectors, 64 elsewhere or where given; the size reaches the model and curiosity.pt."""
    options = {} if given is None else {"features": given}
    bonus, callback = attach(make_env(env_id, seed=0), method, seed=0, **options)
    assert bonus.options.features == features
    final = bonus.model.target if method == "rnd" else bonus.model.encoder
    assert [m.out_features for m in final.modules() if isinstance(m, torch.nn.Linear)][-1] == features
    callback.save(tmp_path / "curiosity.pt")
    assert torch.load(tmp_path / "curiosity.pt", weights_only=True)["options"]["features"] == features


@pytest.mark.parametrize("method, options, match", [
    ("icn", {}, "did you mean 'icm'"),
    ("icm", {"intrinsic_wieght": 1.0}, "did you mean 'intrinsic_weight'"),
    ("icm", {"intrinsic_weight": "lots"}, "intrinsic_weight must be a finite number"),
    ("icm", {"intrinsic_weight": -1}, "intrinsic_weight must be a finite number >= 0"),
    ("icm", {"epochs": 0}, "epochs must be an integer >= 1"),
    ("icm", {"epochs": 1.5}, "epochs must be an integer"),
    ("icm", {"normalize": "yes"}, "normalize must be true or false"),
    ("icm", {"gamma": 1.0}, "gamma must be a number in [0, 1)"),
    ("rnd", {"beta": 0.5}, "applies only to icm"),
])
def test_attach_errors(method: str, options: dict, match: str) -> None:
    with pytest.raises(UserError, match=match.replace("[", r"\[").replace(")", r"\)")):
        attach(make_env("gymsuite/SparseGrid-v0", seed=0), method, **options)


def test_attach_rejects_unsupported_spaces() -> None:
    with pytest.raises(UserError, match="Box observations"):
        attach(make_env("FrozenLake-v1", seed=0), "rnd")


@pytest.mark.parametrize("method", ["icm", "rnd", "raw"])
def test_image_observations_use_a_cnn(method: str) -> None:
    bonus, callback = attach(DummyVecEnv([Corridor, Corridor]), method, seed=0, batch_size=8)
    assert bonus.normalizer.image
    bonus.reset()
    for action in (1, 1, 0, 1):
        bonus.step(np.array([action, 1 - action]))
    stats = callback.update()
    assert stats and all(np.isfinite(v) for v in stats.values())
    _, reward, _, infos = bonus.step(np.array([1, 0]))
    assert np.isfinite(reward).all() and infos[0]["intrinsic_reward"] >= 0


def test_continuous_actions_icm() -> None:
    bonus, callback = attach(make_env("Pendulum-v1", n_envs=2, seed=0), "icm", seed=0, update_every=16)
    model = PPO("MlpPolicy", bonus, n_steps=32, batch_size=32, n_epochs=1, seed=0)
    model.learn(64, callback=callback)
    assert callback.updates >= 1


@pytest.mark.parametrize("algo, kwargs", [
    (PPO, {"n_steps": 64, "batch_size": 64, "n_epochs": 1}),
    (A2C, {"n_steps": 8}),
    (DQN, {"learning_starts": 50, "train_freq": 4, "buffer_size": 1000}),
])
def test_algorithms_train_with_curiosity_and_save_as_plain_sb3(algo: type, kwargs: dict, tmp_path: Path) -> None:
    bonus, callback = attach(make_env("gymsuite/SparseGrid-v0", n_envs=2, seed=0), "rnd", seed=0, update_every=64)
    model = algo("MlpPolicy", bonus, seed=0, **kwargs)
    model.learn(300, callback=callback)
    assert callback.updates >= 2  # DQN: trained from on_rollout_end every train_freq steps once 64 are collected
    model.save(tmp_path / "model.zip")
    loaded = algo.load(tmp_path / "model.zip")
    obs = make_env("gymsuite/SparseGrid-v0", seed=0).reset()
    np.testing.assert_array_equal(loaded.predict(obs, deterministic=True)[0], model.predict(obs, deterministic=True)[0])


@pytest.mark.parametrize("method", ["icm", "rnd", "raw"])
@pytest.mark.parametrize("env_id", ["gymsuite/SparseGrid-v0", "Pendulum-v1"])  # Discrete and Box actions
def test_per_step_numpy_reward_is_the_models_torch_reward(method: str, env_id: str) -> None:
    """The bonus computes r_int at every step in numpy (supervised.numpy_mlp); it must be the model's own reward."""
    bonus, callback = attached(env_id, method, n_envs=4)
    assert bonus._numpy_reward is not None
    rng = np.random.default_rng(0)
    space = bonus.observation_space
    obs = rng.uniform(space.low.clip(-5), space.high.clip(max=5), size=(64, *space.shape)).astype(np.float32)
    next_obs = obs + rng.normal(0, 0.1, size=obs.shape).astype(np.float32)
    actions = np.array([bonus.action_space.sample() for _ in range(64)])
    bonus.normalizer.update(obs)

    def torch_reward() -> np.ndarray:
        with torch.no_grad():
            return bonus.model.reward(bonus.normalizer(obs), actions, bonus.normalizer(next_obs)).numpy()

    np.testing.assert_allclose(bonus.intrinsic_reward(obs, actions, next_obs), torch_reward(), rtol=1e-4, atol=1e-7)
    train_on(bonus, callback, (obs, actions, next_obs), 2)  # the weights move: the numpy twin follows
    np.testing.assert_allclose(bonus.intrinsic_reward(obs, actions, next_obs), torch_reward(), rtol=1e-4, atol=1e-7)


def test_image_curiosity_keeps_torch() -> None:
    bonus, _ = attach(make_env("gymsuite/PixelCartPole-v0", seed=0), "rnd", seed=0)
    assert bonus._numpy_reward is None
