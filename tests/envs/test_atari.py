"""Atari: the native vector env against gymnasium's preprocessing wrappers, step for step; options and bad input."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from stable_baselines3.common.monitor import Monitor

from gymsuite.common.errors import UserError
from gymsuite.envs import atari
from gymsuite.envs.factory import make_env, make_native_atari
from gymsuite.envs.observation import EnvOptions

# Deterministic settings: no sticky actions, no random no-ops; a 150-step cap forces truncations cheaply.
DETERMINISTIC = {"noop_max": 0, "repeat_action_probability": 0.0}


def test_native_vector_matches_gymnasium_wrappers_step_for_step() -> None:
    """ale-py's C++ vector env vs ``Monitor(FrameStackObservation(AtariPreprocessing(FireOnReset(env))))``.

    Over 320 steps of random actions (two truncated games per env and the next games' starts):
    observations, rewards, ends, episode statistics and truncation flags are equal. A final
    observation differs in its newest frame only: the C++ env stops before capturing the frame
    on which the game ends, so that frame is checked on the three older ones.
    """
    n = 2
    options = EnvOptions.parse({"atari": DETERMINISTIC, "max_episode_steps": 150})
    native = make_native_atari("ALE/Pong-v5", n, seed=0, options=options)
    wrapped = make_env("ALE/Pong-v5", n_envs=n, seed=0, options=options)
    try:
        obs_n, obs_w = native.reset(), wrapped.reset()
        assert obs_n.shape == (n, 4, 84, 84) and obs_n.dtype == np.uint8
        np.testing.assert_array_equal(obs_n, obs_w)
        actions = np.random.default_rng(0).integers(0, native.action_space.n, (320, n))
        episodes = 0
        for step, action in enumerate(actions):
            obs_n, rew_n, done_n, infos_n = native.step(action)
            obs_w, rew_w, done_w, infos_w = wrapped.step(action)
            np.testing.assert_array_equal(obs_n, obs_w, err_msg=f"step {step}")
            np.testing.assert_array_equal(rew_n, rew_w)
            np.testing.assert_array_equal(done_n, done_w)
            for info_n, info_w in zip(infos_n, infos_w, strict=True):
                assert ("episode" in info_n) == ("episode" in info_w)
                if "episode" in info_n:
                    episodes += 1
                    assert info_n["episode"]["r"] == info_w["episode"]["r"]
                    assert info_n["episode"]["l"] == info_w["episode"]["l"] == 150
                    assert info_n["TimeLimit.truncated"] is info_w["TimeLimit.truncated"] is True
                    final_n, final_w = info_n["terminal_observation"], info_w["terminal_observation"]
                    assert final_n.shape == (4, 84, 84)
                    np.testing.assert_array_equal(final_n[:3], final_w[:3])
                    assert not np.array_equal(final_n[:3], obs_n[0, :3])  # the old game's, not the new one's
        assert episodes == 2 * n
        assert native.env_is_wrapped(Monitor) == [True] * n
        assert native.get_attr("render_mode") == [None] * n
    finally:
        native.close()
        wrapped.close()


def test_without_ale_py_one_error_names_the_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "ale_py", None)  # import ale_py now raises ModuleNotFoundError
    with pytest.raises(UserError) as err:
        make_env("PongNoFrameskip-v4")
    assert "pip install ale-py" in str(err.value)


def test_unknown_atari_id_gets_the_closest_names() -> None:
    with pytest.raises(UserError) as err:
        atari.game_of("ALE/Pongg-v5")
    assert "ALE/Pong-v5" in str(err.value.hint)


def test_options_are_checked_with_the_closest_key() -> None:
    assert atari.options({"episodic_life": True}).episodic_life
    with pytest.raises(UserError) as err:
        atari.options({"frame_skp": 2})
    assert "frame_skip" in str(err.value.hint)
    with pytest.raises(UserError):
        atari.options({"noop_max": -1})


def test_episodic_life_ends_learning_episodes_but_monitor_reports_whole_games() -> None:
    """Breakout has 5 lives: with episodic life, a life lost ends the episode for learning only."""
    venv = make_env("ALE/Breakout-v5", n_envs=1, seed=0,
                    options=EnvOptions.parse({"atari": {**DETERMINISTIC, "episodic_life": True}}))
    try:
        venv.reset()
        ends, games = 0, []
        for _ in range(2000):
            _, _, done, infos = venv.step(np.array([1]))  # FIRE, never moving: the ball is lost
            ends += int(done[0])
            if "episode" in infos[0]:
                games.append(infos[0]["episode"])
            if games:
                break
        assert games and ends == 5  # four lives lost, then the game over that Monitor reports
    finally:
        venv.close()


def test_ids_that_get_the_preprocessing() -> None:
    assert atari.is_atari("ALE/Pong-v5") and atari.is_atari("BreakoutNoFrameskip-v4")
    assert not atari.is_atari("CartPole-v1") and not atari.is_atari("Pong-v4") and not atari.is_atari("m:ALE/X")
