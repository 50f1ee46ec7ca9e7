"""A video plays at the game's pace: one frame per agent step, at the steps per second of game time."""

from __future__ import annotations

from pathlib import Path

import gymnasium as gym
import imageio.v3 as iio
import pytest

from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.agents.saved.video import record
from gymsuite.envs import atari


@pytest.mark.parametrize(("env_id", "skip", "fps"), [
    ("ALE/Pong-v5", None, 15.0),          # ale-py's frameskip 4 inside the env
    ("Pong-v4", None, 20.0),              # a random frameskip of 2, 3 or 4
    ("PongNoFrameskip-v4", None, 60.0),   # one frame per step
    ("PongNoFrameskip-v4", 4, 15.0),      # the preprocessing's skip
    ("ALE/Pong-v5", 3, 20.0),             # the preprocessing's skip over v5 with frameskip 1
])
def test_atari_steps_per_second_count_every_frame_skip(env_id: str, skip: int | None, fps: float) -> None:
    atari.require_ale()  # registers the ids
    env = gym.make(env_id) if skip is None else gym.wrappers.AtariPreprocessing(gym.make(env_id, frameskip=1),
                                                                               frame_skip=skip, noop_max=0)
    try:
        assert env.metadata["render_fps"] == 30  # what ale-py declares, whatever the skip
        assert atari.steps_per_second(env) == fps
    finally:
        env.close()
    assert atari.steps_per_second(gym.make("CartPole-v1")) is None


@pytest.mark.filterwarnings("ignore:.*step cap")  # the episodes are cut after 4 steps on purpose
@pytest.mark.parametrize(("env_id", "hyperparams", "fps"), [
    ("ALE/Pong-v5", None, 15),                                  # the preprocessing's default skip of 4
    ("PongNoFrameskip-v4", None, 15),
    ("PongNoFrameskip-v4", {"atari": {"frame_skip": 2}}, 30),  # a run's own frame_skip
])
def test_an_atari_video_plays_at_the_games_pace(tmp_path: Path, env_id: str, hyperparams: dict | None,
                                                fps: int) -> None:
    summary = record(LoadedAgent(None, "random", env_id, hyperparams=hyperparams), tmp_path / "v.mp4",
                     max_episode_steps=4)
    assert summary["fps"] == fps and iio.immeta(tmp_path / "v.mp4")["fps"] == fps
