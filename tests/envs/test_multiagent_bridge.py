"""The PettingZoo bridge against toy envs with known rewards, deaths and time limits: exactly what SB3 receives."""

from __future__ import annotations

import numpy as np
import pytest
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent import ParallelVecEnv, make_parallel_vec_env, multiagent_options
from tests.multiagent_toys import Toy, make_uneven, make_uneven_actions

STEPS = 5


def _bridge(n_copies: int = 2, seed: int | None = 0, **options: object) -> ParallelVecEnv:
    return make_parallel_vec_env(Toy, n_copies, dict(options), "toy", seed=seed)


def _actions(k: int, n: int = 6) -> np.ndarray:
    """Step k's actions, different for every slot and step, so rewards show which action reached the env."""
    return (np.arange(n) + k) % 3


def test_slots_rewards_dones_and_infos_are_exact() -> None:
    venv = _bridge()
    assert venv.num_envs == 6 and venv.agents == ["a", "b", "c"] and venv.n_copies == 2
    obs = venv.reset()
    assert obs.shape == (6, 2) and np.all(obs[:, 0] == 0)
    returns = np.zeros(6)
    for k in range(1, STEPS + 1):
        actions = _actions(k)
        obs, rewards, dones, infos = venv.step(actions)
        t = (k - 1) % 4 + 1  # the joint step inside the episode (the limit is 4)
        alive = np.array([True, t <= 2, True] * 2)  # b dies at t = 2
        expected = np.where(alive, 10.0 * (np.arange(6) % 3 + 1) + t + actions, 0.0)
        np.testing.assert_array_equal(rewards, expected.astype(np.float32))
        assert [i["inactive"] for i in infos] == list(~alive)
        returns += expected
        if k == 2:  # b (slots 1, 4) terminates; the others go on
            assert dones.tolist() == [False, True, False] * 2
            for s in (1, 4):
                assert infos[s]["TimeLimit.truncated"] is False
                assert infos[s]["terminal_observation"][0] == 2
                assert infos[s]["episode"]["r"] == returns[s] and infos[s]["episode"]["l"] == 2
        elif k == 4:  # the limit: a truncated, c terminated and truncated at once, b long gone: every slot done
            assert dones.all()
            for c in range(2):
                a, b, cc = 3 * c, 3 * c + 1, 3 * c + 2
                assert infos[a]["TimeLimit.truncated"] is True and infos[cc]["TimeLimit.truncated"] is False
                assert "terminal_observation" not in infos[b] and "episode" not in infos[b]
                assert infos[a]["terminal_observation"][0] == 4 and infos[cc]["terminal_observation"][0] == 4
                assert infos[a]["episode"] == {"r": returns[a], "l": 4, "t": infos[a]["episode"]["t"]}
                assert infos[cc]["episode"]["l"] == 4
                joint = infos[a]["joint_episode"]
                assert joint["l"] == 4 and joint["r"] == {"a": returns[a], "b": returns[b], "c": returns[cc]}
                assert "joint_episode" not in infos[b] and "joint_episode" not in infos[cc]
            assert np.all(obs[:, 0] == 0)  # the copies were reset: the next episode's first observations
            returns[:] = 0
        else:
            assert not dones.any() and not any("episode" in i for i in infos)
        assert np.all(obs[alive, 0] == (0 if k == 4 else t))
    np.testing.assert_array_equal(venv.last_inactive, np.zeros(6, bool))  # step 5: a fresh episode, all act


def test_actions_of_done_agents_never_reach_the_env() -> None:
    venv = _bridge(n_copies=1)
    venv.reset()
    for k in range(1, 8):
        venv.step(_actions(k, 3))
    received = venv.envs[0].received
    assert [sorted(r) for r in received] == [["a", "b", "c"]] * 2 + [["a", "c"]] * 2 + [["a", "b", "c"]] * 2 + \
        [["a", "c"]]
    assert all(r[agent] == (i + 1 + idx) % 3 for i, r in enumerate(received) for idx, agent in
               enumerate(["a", "b", "c"]) if agent in r)


def _trajectory(seed: int) -> np.ndarray:
    venv = _bridge(seed=seed)
    frames = [venv.reset()]
    frames += [venv.step(_actions(k))[0] for k in range(1, 10)]
    return np.stack(frames)


def test_same_seed_same_trajectory_other_seed_differs() -> None:
    first, again, other = _trajectory(3), _trajectory(3), _trajectory(4)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first[:, :, 1], other[:, :, 1])
    assert not np.array_equal(first[0, 0:3, 1], first[0, 3:6, 1])  # copy c is seeded seed + c


def test_agent_id_appends_a_one_hot() -> None:
    venv = _bridge(agent_id=True)
    obs = venv.reset()
    assert venv.observation_space.shape == (5,)
    np.testing.assert_array_equal(obs[:, 2:], np.tile(np.eye(3), (2, 1)))
    obs, *_ = venv.step(_actions(1))
    np.testing.assert_array_equal(obs[:, 2:], np.tile(np.eye(3), (2, 1)))


def test_state_from_the_env_and_from_observations() -> None:
    venv = _bridge(state=True, agent_id=True)
    assert isinstance(venv.observation_space, spaces.Dict)
    assert venv.observation_space["state"].shape == (6,) and venv.observation_space["obs"].shape == (5,)
    obs = venv.reset()
    obs, *_ = venv.step(_actions(1))
    np.testing.assert_array_equal(obs["state"][:, :3], np.tile([1, 3, 7], (6, 1)))  # Toy.state(): [t, alive, 7]
    np.testing.assert_array_equal(obs["state"][:, 3:], np.tile(np.eye(3), (2, 1)))
    obs, _, _, infos = venv.step(_actions(2))
    assert infos[1]["terminal_observation"]["state"][0] == 2 and infos[1]["terminal_observation"]["obs"].shape == (5,)

    class NoState(Toy):
        state_space = None

    plain = ParallelVecEnv([NoState()], {"state": True})
    obs = plain.reset()
    assert obs["state"].shape == (3, 6)  # the three agents' observations, concatenated
    np.testing.assert_array_equal(obs["state"][0], obs["obs"].reshape(-1))


def test_different_observation_spaces_name_the_agents_or_pad() -> None:
    with pytest.raises(UserError, match="pad") as err:
        ParallelVecEnv([make_uneven()])
    assert "b" in str(err.value) and "(3,)" in str(err.value)
    venv = ParallelVecEnv([make_uneven()], {"pad": True})
    obs = venv.reset()
    assert venv.observation_space.shape == (3,)
    assert obs[0, 2] == 0 and obs[2, 2] == 0  # a and c padded with zeros
    with pytest.raises(UserError, match="action spaces"):
        ParallelVecEnv([make_uneven_actions()])


def test_time_limit_of_the_bridge_truncates_everyone_alive() -> None:
    venv = make_parallel_vec_env(lambda: Toy(limit=50), 1, None, "toy", seed=0, max_episode_steps=3)
    venv.reset()
    steps = [venv.step(_actions(k, 3)) for k in range(1, 4)]
    assert not steps[0][2].any() and steps[1][2].tolist() == [False, True, False]
    _, _, dones, infos = steps[2]
    assert dones.all() and infos[0]["TimeLimit.truncated"] and infos[2]["TimeLimit.truncated"]
    assert infos[0]["episode"]["l"] == 3 and infos[0]["joint_episode"]["l"] == 3 and infos[1]["inactive"]


def test_options_are_validated() -> None:
    assert multiagent_options({"agent_id": True}).agent_id is True
    with pytest.raises(UserError, match="agent_id"):
        multiagent_options({"agentid": True})
    with pytest.raises(UserError, match="resize"):
        multiagent_options({"resize": [4]})
    with pytest.raises(UserError, match="multiagent"):
        multiagent_options(3)


def test_sb3_seeds_the_bridge_and_reproduces_a_run() -> None:
    """``PPO(..., seed=s)`` calls ``venv.seed(s)`` (SuperSuit's ConcatVecEnv has no ``seed``): same rollouts."""
    import torch
    from stable_baselines3 import PPO

    buffers = []
    for seed in (3, 3, 4):
        torch.manual_seed(0)
        model = PPO("MlpPolicy", _bridge(seed=None), n_steps=16, batch_size=48, n_epochs=1, seed=seed)
        model.learn(96)
        buffers.append(model.rollout_buffer.observations.copy())
    np.testing.assert_array_equal(buffers[0], buffers[1])
    assert not np.array_equal(buffers[0], buffers[2])
