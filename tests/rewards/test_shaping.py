"""Reward shaping: potential terms telescope, the env's reward stays in info, YAML errors name the key,
and a non-potential closeness bonus is exploited where potential-based shaping is not."""

from __future__ import annotations

import copy
import pickle
from pathlib import Path

import gymnasium as gym
import numpy as np
import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.custom.sparse_grid import SparseGridEnv
from gymsuite.envs.factory import make_env
from gymsuite.rewards.potentials import sparsegrid_distance
from gymsuite.rewards.shaping import LivingTerm, PotentialShaping, TermShaping, load_shaping

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = sorted((ROOT / "examples" / "shaping").glob("*.yaml"))
GAMMA = 0.9


def run_episode(env: gym.Env, seed: int, actions: list[int] | None = None) -> tuple[list, list, list]:
    """Random (or given) actions until the episode ends: (observations, rewards, infos), obs[0] from reset."""
    obs, info = env.reset(seed=seed)
    rng = np.random.default_rng(seed)
    observations, rewards, infos = [obs], [], [info]
    for t in range(10_000):
        action = actions[t] if actions is not None else int(rng.integers(env.action_space.n))
        obs, reward, terminated, truncated, info = env.step(action)
        observations.append(obs)
        rewards.append(reward)
        infos.append(info)
        if terminated or truncated:
            return observations, rewards, infos
    raise AssertionError("episode did not end")


@pytest.mark.parametrize("size, max_steps", [(3, None), (10, 5)], ids=["terminated", "truncated"])
def test_potential_terms_telescope(size: int, max_steps: int | None) -> None:
    # sum_t gamma^t F_t = gamma^T Phi(s_T) - Phi(s_0), with Phi(s_T) = 0 when s_T is terminal.
    env = SparseGridEnv(size=size)
    env = gym.wrappers.TimeLimit(env, max_steps) if max_steps else env
    env = PotentialShaping(env, "sparsegrid_distance", gamma=GAMMA, weight=2.0)
    observations, _, infos = run_episode(env, seed=1)
    terms = np.array([info["shaping"]["potential"] for info in infos[1:]])
    n = len(terms)
    terminated = max_steps is None
    phi_last = 0.0 if terminated else sparsegrid_distance(observations[-1], {})
    expected = 2.0 * (GAMMA**n * phi_last - sparsegrid_distance(observations[0], {}))
    assert np.sum(GAMMA ** np.arange(n) * terms) == pytest.approx(expected, abs=1e-12)
    if terminated:  # the last term is -Phi(s_{T-1}): the goal's potential is taken as 0
        assert terms[-1] == pytest.approx(-2.0 * sparsegrid_distance(observations[-2], {}))
    else:
        assert not infos[-1]["env_reward"]


def test_reward_is_env_reward_plus_terms_and_info_keeps_both() -> None:
    terms = load_shaping({"terms": {"alive": {"kind": "living", "weight": -0.1},
                                    "closer": {"kind": "progress", "info": "distance", "weight": -1.0},
                                    "goal": {"kind": "event", "info": "at_goal", "weight": 5.0}}})
    env = terms[0](gym.wrappers.TimeLimit(SparseGridEnv(size=3), 50))
    _, rewards, infos = run_episode(env, seed=0, actions=[0, 0, 1, 2, 1, 0])
    for reward, info in zip(rewards, infos[1:], strict=True):
        assert reward == pytest.approx(info["env_reward"] + sum(info["shaping"].values()))
        assert info["shaping"]["alive"] == -0.1 and info["shaping"]["goal"] == 0.0
    assert [i["shaping"]["closer"] for i in infos[1:]] == [1, 1, 1, -1, 1, 1]  # distance fell by 1, rose once
    assert [i["env_reward"] for i in infos[1:]] == [0, 0, 0, 0, 0, 1]
    episode = infos[-1]["episode_shaping"]
    assert episode == pytest.approx({"alive": -0.6, "closer": 4.0, "goal": 0.0})
    assert all("episode_shaping" not in i for i in infos[1:-1])


def test_stacked_wrappers_merge_terms_and_keep_the_innermost_env_reward() -> None:
    env = TermShaping(PotentialShaping(SparseGridEnv(size=3), sparsegrid_distance, gamma=1.0),
                      [LivingTerm("alive", -0.5)])
    _, rewards, infos = run_episode(env, seed=0, actions=[0, 0, 1, 1])
    assert set(infos[-1]["shaping"]) == {"potential", "alive"}
    assert set(infos[-1]["episode_shaping"]) == {"potential", "alive"}
    assert infos[-1]["env_reward"] == 1.0
    assert sum(rewards) == pytest.approx(1.0 - 4 * 0.5 - sparsegrid_distance(np.zeros(2), {}) * 1.0 - 0.0)


def test_monitor_and_episode_returns_keep_the_env_reward() -> None:
    # Shaping wraps outside Monitor (make_env's reward_wrappers), so logged returns are the env's own.
    venv = make_env("MountainCar-v0", n_envs=1, seed=0,
                    reward_wrappers=load_shaping({"terms": {"alive": {"kind": "living", "weight": -0.5}}}))
    venv.reset()
    shaped = 0.0
    for _ in range(200):
        _, reward, dones, infos = venv.step(np.array([1]))
        shaped += reward[0]
    assert dones[0]
    assert infos[0]["episode"]["r"] == -200.0
    assert shaped == pytest.approx(-300.0)
    assert infos[0]["episode_shaping"] == {"alive": pytest.approx(-100.0)}


def test_user_potential_may_take_obs_only() -> None:
    env = PotentialShaping(SparseGridEnv(size=3), lambda obs: float(obs[0]), gamma=1.0)
    env.reset(seed=0)
    _, reward, *_ = env.step(0)  # x: 0 -> 0.5
    assert reward == pytest.approx(0.5)


@pytest.mark.parametrize("path", EXAMPLES, ids=[p.name for p in EXAMPLES])
def test_example_files_load_and_run(path: Path) -> None:
    wrappers = load_shaping(str(path))
    pickle.dumps(wrappers)  # SubprocVecEnv sends them to worker processes
    env_id = "MountainCar-v0" if "mountaincar" in path.name else "gymsuite/SparseGrid-v0"
    venv = make_env(env_id, n_envs=2, seed=0, reward_wrappers=wrappers)
    venv.reset()
    _, _, _, infos = venv.step(np.array([0, 1]))
    assert "env_reward" in infos[0] and infos[0]["shaping"]


@pytest.mark.parametrize("config, key", [
    ({"terms": {"a": {"kind": "living", "weight": -1}}, "gama": 0.9}, "'gama'"),
    ({"terms": {}}, "terms"),
    ({"terms": {"a": {"kind": "livng", "weight": -1}}}, "terms.a.kind"),
    ({"terms": {"a": {"kind": "living", "wieght": -1}}}, "'wieght'"),
    ({"terms": {"a": {"kind": "living"}}}, "terms.a.weight is missing"),
    ({"terms": {"a": {"kind": "living", "weight": "lots"}}}, "terms.a.weight"),
    ({"terms": {"a": {"kind": "living", "weight": float("nan")}}}, "terms.a.weight"),
    ({"terms": {"a": {"kind": "potential", "potential": "mountaincar_hieght"}}}, "mountaincar_height"),
    ({"terms": {"a": {"kind": "potential"}}}, "terms.a.potential is missing"),
    ({"terms": {"a": {"kind": "potential", "potential": "mountaincar_height", "gamma": 1.5}}}, "terms.a.gamma"),
    ({"gamma": 0, "terms": {"a": {"kind": "living", "weight": 1}}}, "gamma must be a number in (0, 1]"),
    ({"terms": {"a": {"kind": "progress", "weight": 1}}}, "exactly one of 'info: KEY' or 'obs: INDEX'"),
    ({"terms": {"a": {"kind": "level", "obs": -1, "weight": 1}}}, "terms.a.obs"),
    ({"terms": {"a": {"kind": "level", "obs": 0, "below": 1, "above": 2, "weight": 1}}}, "at most one"),
    ({"terms": {"a": {"kind": "event", "weight": 1}}}, "terms.a.info"),
    ([1, 2], "expected a mapping"),
])
def test_bad_config_names_the_key(config: object, key: str) -> None:
    with pytest.raises(UserError) as err:
        load_shaping(config)
    assert key in str(err.value)


def test_bad_files(tmp_path: Path) -> None:
    with pytest.raises(UserError, match="does not exist"):
        load_shaping(str(tmp_path / "missing.yaml"))
    bad = tmp_path / "bad.yaml"
    bad.write_text("terms: [unclosed\n")
    with pytest.raises(UserError, match="not valid YAML"):
        load_shaping(str(bad))
    small = tmp_path / "small.yaml"
    small.write_text("terms:\n  alive: {kind: living, weight: -1e-2}\n")  # YAML 1.1 would read a string
    env = load_shaping(str(small))[0](SparseGridEnv())
    env.reset(seed=0)
    assert env.step(0)[1] == pytest.approx(-0.01)


def test_terms_that_cannot_read_the_env_fail_early() -> None:
    with pytest.raises(UserError, match="obs index 7"):
        load_shaping({"terms": {"a": {"kind": "level", "obs": 7, "weight": 1}}})[0](SparseGridEnv())
    with pytest.raises(UserError, match="meant for MountainCar"):
        PotentialShaping(gym.make("CartPole-v1"), "mountaincar_energy")
    env = load_shaping({"terms": {"a": {"kind": "progress", "info": "distnce", "weight": 1}}})[0](SparseGridEnv())
    with pytest.raises(UserError, match="info keys available: distance"):
        env.reset(seed=0)


# ------------------------------------------------------------------- the exploit, by value iteration


def tabular(size: int, terms: list) -> tuple[np.ndarray, np.ndarray, dict]:
    """Rewards R[s, a] (env + shaping terms, computed by the terms themselves) and next states of SparseGrid."""
    env = SparseGridEnv(size)
    env.reset(seed=0)
    cells = [(x, y) for x in range(size) for y in range(size)]
    index = {c: i for i, c in enumerate(cells)}
    rewards, nxt = np.zeros((len(cells), 4)), np.full((len(cells), 4), -1)  # -1: terminal
    for c in cells:
        if c == (size - 1, size - 1):
            continue
        for a in range(4):
            env.pos = np.array(c)
            obs, info = env._obs(), env._info()
            obs2, r, terminated, _, info2 = env.step(a)
            for term in map(copy.deepcopy, terms):
                term.reset(obs, info)
                r += term(obs2, terminated, info2)
            rewards[index[c], a] = r
            nxt[index[c], a] = -1 if terminated else index[tuple(env.pos)]
    return rewards, nxt, index


def q_values(rewards: np.ndarray, nxt: np.ndarray, gamma: float) -> np.ndarray:
    """Optimal Q by value iteration (the goal cell is absorbing with value 0)."""
    v = np.zeros(len(rewards) + 1)  # v[-1]: terminal
    for _ in range(3000):
        q = rewards + gamma * v[nxt]
        v[:-1] = q.max(axis=1)
    return q


def greedy_reaches_goal(q: np.ndarray, nxt: np.ndarray, size: int) -> bool:
    s = 0
    for _ in range(4 * size):
        s = nxt[s, int(np.argmax(q[s]))]
        if s == -1:
            return True
    return False


def test_closeness_bonus_is_exploited_but_potential_shaping_is_not() -> None:
    """The course's warning (the robot waving the plate near the stick), proved on a 5x5 SparseGrid.

    A bonus for *being* close to the goal makes "hover next to the goal for ever" optimal; the
    potential-based bonus for *getting* closer changes every Q(s, a) by exactly -Phi(s) (Ng et al.
    1999), so the optimal policy is the environment's own.
    """
    size, gamma = 5, 0.99
    closeness = load_shaping(str(ROOT / "examples" / "shaping" / "sparsegrid_closeness_bonus.yaml"))[0].keywords
    potential = load_shaping(str(ROOT / "examples" / "shaping" / "sparsegrid_potential.yaml"))[0].keywords
    env_r, nxt, index = tabular(size, [])
    q_env = q_values(env_r, nxt, gamma)
    q_bad = q_values(tabular(size, list(closeness["terms"]))[0], nxt, gamma)
    q_pot = q_values(tabular(size, list(potential["terms"]))[0], nxt, gamma)
    assert greedy_reaches_goal(q_env, nxt, size)
    assert not greedy_reaches_goal(q_bad, nxt, size)  # the exploit: never finishes
    assert greedy_reaches_goal(q_pot, nxt, size)
    phi = np.array([sparsegrid_distance(np.array(c) / (size - 1), {}) for c in index])
    assert np.abs(q_pot - (q_env - phi[:, None])).max() < 1e-9


def test_a_potential_term_discounting_unlike_the_agent_is_warned_about_naming_both(recwarn: pytest.WarningsRecorder
                                                                                    ) -> None:
    terms = {"gamma": 0.99, "terms": {"energy": {"kind": "potential", "potential": "mountaincar_energy"},
                                      "alive": {"kind": "living", "weight": -0.01}}}
    load_shaping(terms, agent_gamma=0.99)
    load_shaping(terms)  # the run sets no gamma: nothing to compare with
    assert not [w for w in recwarn if issubclass(w.category, UserWarning)]
    with pytest.warns(UserWarning, match=r"terms\.energy discounts with gamma 0\.99 and the agent with 0\.98.*"
                                         r"gamma: 0\.98") as caught:
        load_shaping(terms, agent_gamma=0.98)
    assert len(caught) == 1  # the living term has no discount
