"""Domain randomisation (gymsuite.envs.wrappers.randomize): seeded draws inside their ranges, set on the env,
reported per episode, ADR's widening, the resume state, and the ranges refused before anything runs."""

from __future__ import annotations

import math
from typing import Any

import gymnasium as gym
import numpy as np
import pytest

from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions
from gymsuite.envs.wrappers.randomize import RandomizeParams, randomize_options


def _wrapped(spec: dict[str, Any], env_id: str = "CartPole-v1") -> RandomizeParams:
    options = randomize_options(spec)
    assert options is not None
    return RandomizeParams(gym.make(env_id), options)


def _draws(env: RandomizeParams, seed: int, n: int) -> list[dict[str, float]]:
    out = [dict(env.reset(seed=seed) and env.values)]
    for _ in range(n - 1):
        env.reset()
        out.append(dict(env.values))
    return out


def test_draws_are_seeded_inside_their_ranges_and_set_on_the_env() -> None:
    spec = {"length": ["0.25x", "4x"], "gravity": [5, 15], "dist": "loguniform"}
    a, b = _wrapped(spec), _wrapped(spec)
    first, again, other = _draws(a, 3, 50), _draws(b, 3, 50), _draws(b, 4, 50)
    assert first == again and first != other
    lengths = np.array([d["length"] for d in first])
    assert lengths.min() >= 0.125 and lengths.max() <= 2.0 and len(set(lengths)) == 50
    inner = a.unwrapped
    assert inner.length == first[-1]["length"] and inner.gravity == first[-1]["gravity"]  # type: ignore[attr-defined]
    assert inner.polemass_length == pytest.approx(inner.masspole * inner.length)  # type: ignore[attr-defined]
    # log-uniform: about half the draws below the geometric middle (x1), not a quarter (uniform's share)
    assert 0.3 < np.mean(lengths < 0.5) < 0.7


def test_each_finished_episode_reports_its_draws() -> None:
    env = _wrapped({"length": ["0.5x", "2x"]})
    env.reset(seed=0)
    terminated = truncated = False
    steps, info = 0, {}
    while not (terminated or truncated):
        _, _, terminated, truncated, info = env.step(env.action_space.sample())
        steps += 1
        assert steps == 1 or "randomize" not in info or terminated or truncated
    record = info["randomize"]
    assert record["values"] == env.values and record["length"] == steps and record["return"] == steps


def test_adr_widens_a_boundary_whose_return_passes_the_threshold_never_past_its_bounds() -> None:
    env = _wrapped({"length": ["1x", "1x"], "adr": {"bounds": ["0.5x", "2x"], "threshold": 1, "step": "0.25x",
                                                     "episodes": 1, "boundary_prob": 1}})
    env.reset(seed=0)
    for _ in range(60):
        terminated = truncated = False
        while not (terminated or truncated):
            _, _, terminated, truncated, info = env.step(env.action_space.sample())
        assert info["randomize"]["ranges"]["length"] == env.ranges["length"]
        env.reset()
    assert env.ranges["length"] == pytest.approx([0.25, 1.0])  # widened to the bounds, each step 0.125


def test_resume_state_gives_the_same_next_draws() -> None:
    spec = {"length": ["0.5x", "2x"], "adr": {"bounds": ["0.25x", "4x"], "threshold": 5, "step": "0.1x"}}
    env = _wrapped(spec)
    _draws(env, 7, 5)
    state = env.get_resume_state()
    later = _draws_from_now(env, 5)
    copy = _wrapped(spec)
    copy.reset(seed=123)
    copy.set_resume_state(state)
    assert copy.unwrapped.length == state["values"]["length"]  # type: ignore[attr-defined]
    assert _draws_from_now(copy, 5) == later


def _draws_from_now(env: RandomizeParams, n: int) -> list[dict[str, float]]:
    out = []
    for _ in range(n):
        env.reset()
        out.append(dict(env.values))
    return out


@pytest.mark.parametrize(("spec", "match"), [
    ({"length": [0, 2]}, "length must be > 0"),
    ({"length": ["-1x", "1x"]}, "length must be > 0"),
    ({"gravity": [-9.8, 9.8]}, "gravity must be > 0"),
    ({"length": [2, 1]}, "low 2 > high 1"),
    ({"pole": [1, 2]}, "has no parameter 'pole'"),
    ({"kw:sutton_barto_reward": [0, 1]}, "constructor keyword"),
    ({"length": [1, 2], "dist": "normal"}, "unknown dist"),
    ({"length": [1, 2, 3]}, "want \\[low, high\\]"),
    ({"length": [1, 1], "adr": {"bounds": [2, 4], "threshold": 1, "step": 0.1}}, "not inside adr.bounds"),
    ({"length": [1, 1], "adr": {"bounds": [1, 4], "threshold": 1}}, "lacks step"),
])
def test_bad_ranges_are_refused_before_any_env_copy_is_built(spec: dict[str, Any], match: str) -> None:
    with pytest.raises(UserError, match=match):
        make_env("CartPole-v1", n_envs=2, options=EnvOptions.parse({"randomize": spec}))


def test_make_env_puts_it_inside_the_time_limit_and_monitor() -> None:
    venv = make_env("CartPole-v1", n_envs=2, seed=5, options=EnvOptions.parse({"randomize": {"length": [1, 2]}}))
    venv.reset()
    lengths = [e.unwrapped.length for e in venv.envs]  # type: ignore[attr-defined]
    assert all(1 <= x <= 2 for x in lengths) and lengths[0] != lengths[1]  # copies seeded apart
    assert not math.isclose(lengths[0], 0.5)
    with pytest.raises(UserError, match="single-agent envs only"):
        make_env("pettingzoo.butterfly.pistonball_v6", options=EnvOptions.parse({"randomize": {"x": [1, 2]}}))


def test_adr_decide_moves_only_decided_ends_within_bounds() -> None:
    from gymsuite.envs.wrappers.randomize import AdrOptions, adr_decide

    adr = AdrOptions(bounds=(0, 0), threshold=100, step=0, episodes=2, low_threshold=20)
    limits = {"length": (0.25, 2.0, 0.1)}
    # the low end: mean 60, between the thresholds (decided, unmoved); the high end: one return of the two needed
    ranges, left = adr_decide({"length": [0.5, 0.5]}, {"length/0": [30, 90], "length/1": [300]}, limits, adr)
    assert ranges == {"length": [0.5, 0.5]} and left == {"length/0": [], "length/1": [300]}
    ranges, _ = adr_decide({"length": [0.5, 0.5]}, {"length/0": [150, 110], "length/1": [300, 400]}, limits, adr)
    assert ranges["length"] == pytest.approx([0.4, 0.6])
    ranges, _ = adr_decide({"length": [0.3, 1.95]}, {"length/0": [200, 200], "length/1": [200, 200]}, limits, adr)
    assert ranges["length"] == pytest.approx([0.25, 2.0])  # never past the bounds
    ranges, _ = adr_decide({"length": [0.3, 0.6]}, {"length/0": [5, 10], "length/1": [50, 50]}, limits, adr)
    assert ranges["length"] == pytest.approx([0.4, 0.6])  # below low_threshold: the low end moves back in
