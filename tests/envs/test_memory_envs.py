"""The partially observable tasks: velocity masking, the NoVel ids and the passive T-maze."""

from __future__ import annotations

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.wrappers import FrameStackObservation

import gymsuite.envs.custom  # noqa: F401  (registers the gymsuite/ ids)
from gymsuite.common.errors import UserError
from gymsuite.envs.check import check
from gymsuite.envs.custom.tmaze import TMazeEnv
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions, check_observation_options
from gymsuite.envs.wrappers.masking import MaskVelocity

# Written out here, not read from gymsuite.envs.wrappers.masking: the entries that must stay, by id.
KEPT = {
    "CartPole-v1": [0, 2],
    "Pendulum-v1": [0, 1],
    "MountainCar-v0": [0],
    "MountainCarContinuous-v0": [0],
    "Acrobot-v1": [0, 1, 2, 3],
    "LunarLander-v3": [0, 1, 4, 6, 7],
    "LunarLanderContinuous-v3": [0, 1, 4, 6, 7],
}


@pytest.mark.parametrize("env_id", sorted(KEPT))
def test_mask_velocity_drops_exactly_the_velocities(env_id: str) -> None:
    kept = KEPT[env_id]
    plain = make_env(env_id, n_envs=2, seed=3)
    masked = make_env(env_id, n_envs=2, seed=3, options=EnvOptions.parse({"mask_velocity": True}))
    full_space, space = plain.observation_space, masked.observation_space
    assert space.shape == (len(kept),) and space.dtype == full_space.dtype
    np.testing.assert_array_equal(space.low, full_space.low[kept])
    np.testing.assert_array_equal(space.high, full_space.high[kept])
    full, obs = plain.reset(), masked.reset()
    plain.action_space.seed(0)
    for _ in range(20):
        np.testing.assert_array_equal(obs, full[:, kept])
        actions = np.stack([plain.action_space.sample() for _ in range(2)])
        full, _, _, _ = plain.step(actions)
        obs, _, _, _ = masked.step(actions)
    assert not np.allclose(np.delete(full, kept, axis=1), 0)  # what was dropped moved: velocities
    plain.close()
    masked.close()


@pytest.mark.parametrize("env_id", ["gymsuite/SparseGrid-v0", "gymsuite/CartPoleNoVel-v0"])
def test_an_env_outside_the_table_is_refused_naming_the_supported_ones(env_id: str) -> None:
    with pytest.raises(UserError) as err:
        make_env(env_id, options=EnvOptions.parse({"mask_velocity": True}))
    assert "CartPole" in (err.value.hint or "") and "mask_velocity" in err.value.message


def test_mask_velocity_refuses_a_custom_class_without_an_id() -> None:
    with pytest.raises(UserError, match="mask_velocity"):
        MaskVelocity(TMazeEnv())


def test_mask_velocity_refuses_an_observation_of_another_shape() -> None:
    with pytest.raises(UserError, match="mask_velocity"):
        MaskVelocity(FrameStackObservation(gym.make("CartPole-v1"), 2))


@pytest.mark.parametrize(("hyper", "env"), [
    ({"mask_velocity": "yes"}, None),
    ({"mask_velocity": True, "pixels": True}, "CartPole-v1"),
    ({"mask_velocity": True}, "ALE/Pong-v5"),
    ({"mask_velocity": True}, "MiniGrid-MemoryS7-v0"),
])
def test_bad_mask_velocity_settings_are_refused(hyper: dict, env: str | None) -> None:
    with pytest.raises(UserError, match="mask_velocity"):
        check_observation_options(hyper, env)


def test_mask_velocity_with_an_atari_id_is_refused_by_make_env() -> None:
    with pytest.raises(UserError, match="mask_velocity"):
        make_env("ALE/Pong-v5", options=EnvOptions.parse({"mask_velocity": True}))


def test_masked_pendulum_in_two_envs_with_a_history_window() -> None:
    venv = make_env("Pendulum-v1", n_envs=2, seed=0, options=EnvOptions.parse({"mask_velocity": True, "history": 3}))
    assert venv.observation_space.shape == (3, 2)  # the window holds masked observations: mask is innermost
    obs = venv.reset()
    np.testing.assert_allclose(np.hypot(obs[:, -1, 0], obs[:, -1, 1]), 1, atol=1e-6)  # cos, sin
    obs, reward, _, _ = venv.step(np.zeros((2, 1), np.float32))
    assert obs.shape == (2, 3, 2) and reward.shape == (2,)
    venv.close()


@pytest.mark.parametrize(("env_id", "steps", "threshold"), [("gymsuite/CartPoleNoVel-v0", 500, 475.0),
                                                             ("gymsuite/PendulumNoVel-v0", 200, None)])
def test_novel_ids_shapes_limits_and_rendering(env_id: str, steps: int, threshold: float | None) -> None:
    env = gym.make(env_id, render_mode="rgb_array")
    assert env.observation_space.shape == (2,) and env.spec is not None
    assert env.spec.max_episode_steps == steps and env.spec.reward_threshold == threshold
    obs, _ = env.reset(seed=0)
    assert obs.shape == (2,) and env.observation_space.contains(obs)
    frame = env.render()
    assert isinstance(frame, np.ndarray) and frame.ndim == 3 and frame.shape[2] == 3
    env.close()


def test_cartpole_novel_is_cartpole_seen_without_velocities() -> None:
    novel, plain = gym.make("gymsuite/CartPoleNoVel-v0"), gym.make("CartPole-v1")
    a, _ = novel.reset(seed=5)
    b, _ = plain.reset(seed=5)
    for step in range(10):
        np.testing.assert_array_equal(a, b[[0, 2]])
        a, *_ = novel.step(step % 2)
        b, *_ = plain.step(step % 2)


@pytest.mark.parametrize("env_id", ["gymsuite/CartPoleNoVel-v0", "gymsuite/PendulumNoVel-v0", "gymsuite/TMaze-v0"])
def test_the_memory_ids_pass_the_env_check(env_id: str) -> None:
    report = check(env_id, render=True)
    assert report.ok, report.text()


# --- T-maze ---------------------------------------------------------------------------------------


def _episode(env: TMazeEnv, policy: str, rng: np.random.Generator) -> tuple[float, int, dict]:
    """Play one episode; ``policy`` is "memory" (remembers the cue), "up", "down" or "random"."""
    obs, _ = env.reset()
    cue, steps, done = obs[0], 0, False
    while not done:
        if policy == "memory":
            action = 0 if cue > 0 else 1
        elif policy == "random":
            action = int(rng.integers(2))
        else:
            action = 0 if policy == "up" else 1
        obs, reward, done, truncated, info = env.step(action)
        assert not truncated
        steps += 1
    return float(reward), steps, info


@pytest.mark.parametrize("length", [1, 5])
def test_tmaze_rewards_memory_and_not_memoryless_policies(length: int) -> None:
    env = TMazeEnv(length=length)
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    for policy, expected in [("memory", 1.0), ("up", 0.0), ("down", 0.0), ("random", 0.0)]:
        returns = []
        for _ in range(1000):
            reward, steps, info = _episode(env, policy, rng)
            assert steps == length + 1 and info["correct"] == (reward == 1.0) and info["cue"] in (1, -1)
            returns.append(reward)
        # 1000 episodes: a memoryless mean has a standard deviation of about 0.03
        assert abs(np.mean(returns) - expected) < 0.12, (policy, np.mean(returns))


def test_tmaze_observations() -> None:
    env = TMazeEnv(length=3)
    obs, _ = env.reset(seed=1)
    assert obs.dtype == np.float32 and obs[0] in (1.0, -1.0) and obs[1] == 0
    seen = [env.step(0)[0] for _ in range(3)]
    np.testing.assert_array_equal(seen, [[0, 0], [0, 0], [0, 1]])  # the cue is gone; the junction is marked
    assert all(env.observation_space.contains(o) for o in seen)


def test_tmaze_same_seed_same_cues() -> None:
    def cues(seed: int) -> list[float]:
        env = TMazeEnv(length=2)
        first = env.reset(seed=seed)[0][0]
        return [first] + [env.reset()[0][0] for _ in range(30)]

    assert cues(7) == cues(7)
    assert cues(7) != cues(8)
    assert {1.0, -1.0} == set(cues(7))


@pytest.mark.parametrize("length", [0, -3, 2.5, "8", True])
def test_tmaze_bad_length_is_refused(length: object) -> None:
    with pytest.raises(UserError) as err:
        TMazeEnv(length=length)  # type: ignore[arg-type]
    assert "length" in (err.value.hint or "")


def test_tmaze_bad_length_through_make_env_is_a_user_error() -> None:
    with pytest.raises(UserError, match="length"):
        make_env("gymsuite/TMaze-v0", options=EnvOptions(env_kwargs={"length": 0}))


@pytest.mark.parametrize("length", [1, 8, 200])
def test_tmaze_render(length: int) -> None:
    env = gym.make("gymsuite/TMaze-v0", length=length, render_mode="rgb_array")
    env.reset(seed=0)
    first = env.render()
    assert isinstance(first, np.ndarray) and first.dtype == np.uint8 and first.ndim == 3
    rows, cols = first.shape[:2]
    assert rows % 3 == 0 and cols == (length + 1) * (rows // 3) and cols <= 640 + 16
    env.step(0)
    second = env.render()
    assert isinstance(second, np.ndarray) and not np.array_equal(first, second)  # the agent moved, the cue went
    assert env.metadata["render_fps"] > 0
