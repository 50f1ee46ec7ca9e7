"""Recording gameplay videos through moviepy.

A video shows the env's own rendering (``render_mode="rgb_array"``), not the small images a pixel
agent sees; ``agent_view`` puts what the agent sees (its newest frame, enlarged) beside it.
A two-player turn-based game (PettingZoo classic) is recorded move by move: one frame at the
start of each game and one after every move.
Shapes: frames ``(H, W, 3)`` uint8; an image observation as the model sees it ``(C, h, w)``.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np

from gymsuite.agents.saved import boardgame
from gymsuite.agents.saved.evaluation import episode_of, is_parallel, warn_capped
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write
from gymsuite.envs.factory import make_one
from gymsuite.envs.multiagent.turnbased import play_game
from gymsuite.envs.target import EnvKind, lenient_target

# rgb_array rendering needs no screen; without one, SDL (pygame) complains on stderr unless told so.
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def collect_frames(agent: LoadedAgent, episodes: int, seed: int = 0, deterministic: bool = True,
                   max_episode_steps: int | None = None,
                   agent_view: bool = False) -> tuple[list[np.ndarray], float, list[dict[str, Any]]]:
    """Play ``episodes`` episodes in one env; return its frames ``(H, W, 3)`` uint8, fps and episodes.

    Each episode is Monitor's ``{"r", "l", "t"}`` plus ``"capped"`` (see
    :func:`gymsuite.agents.saved.evaluation.run_episodes`); every episode is cut after
    ``max_episode_steps`` steps (default: the env's time limit, else 10,000), so a policy that
    never ends an episode cannot fill the memory with frames. ``agent_view``: each frame is the
    env's rendering beside the agent's newest observed image (:func:`beside_agent_view`).
    """
    venv = make_agent_env(agent, seed=seed, n_envs=1, render_mode="rgb_array", max_episode_steps=max_episode_steps)
    grey = _grey_frames(agent)

    def shot(obs: Any) -> np.ndarray:
        return beside_agent_view(_frame(venv), obs[0], grey) if agent_view else _frame(venv)

    try:
        if agent_view and np.asarray(venv.observation_space.shape).size != 3:
            raise UserError(f"--agent-view shows image observations, and {agent.env}'s is {venv.observation_space}",
                            "record without --agent-view")
        render_fps: Any = venv.metadata.get("render_fps")
        fps = float(render_fps or 30)
        frames: list[np.ndarray] = []
        done_episodes: list[dict[str, Any]] = []
        multiagent = is_parallel(venv)
        obs, dones = venv.reset(), np.ones(venv.num_envs, dtype=bool)
        frames.append(shot(obs))
        while len(done_episodes) < episodes:
            obs, _, dones, infos = venv.step(agent.act(obs, venv, deterministic, episode_start=dones))
            episode = episode_of(infos[0], multiagent) if dones[0] else None  # multi-agent: copy 0's joint episode
            if episode is not None:
                done_episodes.append(episode)
            frames.append(shot(obs))  # after a done this is the next episode's first frame
    finally:
        venv.close()
    return frames, fps, done_episodes


def collect_game_frames(agent: LoadedAgent, games: int, seed: int = 0, deterministic: bool = True,
                        opponent: str = "self") -> tuple[list[np.ndarray], float, list[dict[str, float]]]:
    """Play ``games`` games of ``agent``'s board game; return the frames ``(H, W, 3)`` uint8, fps and games.

    The agent takes seat 0 (moves first) in even games and seat 1 in odd ones, against
    ``opponent``: ``"self"`` (the agent in both seats) or a built-in player (:data:`boardgame.OPPONENTS`).
    Each game is ``{"r": the agent's return, "l": moves, "t": 0, "capped": 0, "seat": its seat}``.
    """
    spec = str(agent.env)
    me = boardgame.agent_player(agent, spec, seed, deterministic)
    other = me if opponent == "self" else boardgame.named_player(opponent, spec, seed + 1)
    env = boardgame.make_game(spec, render_mode="rgb_array")
    frames: list[np.ndarray] = []
    done: list[dict[str, float]] = []
    try:
        fps = float(env.metadata.get("render_fps") or 1)
        for game in range(games):
            seat = game % 2
            players = [me, other] if seat == 0 else [other, me]
            result = play_game(env, players, seed=seed + game,
                                         on_move=lambda: frames.append(_checked(env.render())))
            done.append({"r": result.returns[seat], "l": float(result.moves), "t": 0.0, "capped": 0.0,
                         "seat": float(seat)})
    finally:
        env.close()
    return frames, fps, done


def check_recordable(env: str, env_kwargs: dict[str, Any] | None = None) -> None:
    """Raise a :class:`UserError` unless ``env`` renders ``(H, W, 3)`` frames (``train --video``, before training)."""
    if _turn_based(env):  # PettingZoo's classic games render their boards
        return
    one = make_one(env, render_mode="rgb_array", env_kwargs=env_kwargs)
    try:
        one.reset(seed=0)
        frame = one.render()
    except (gym.error.Error, ImportError) as err:
        raise UserError(f"{env} cannot render a video: {err}", "train without --video") from err
    finally:
        one.close()
    if frame is None or np.asarray(frame).ndim != 3:
        raise UserError(f"{env} rendered no rgb_array image, so --video cannot record it",
                        "train without --video, or make its render() return an (H, W, 3) array")


def _grey_frames(agent: LoadedAgent) -> bool:
    """Whether the agent's stacked channels are grey frames (``--pixels`` with ``grey``, Atari) rather than RGB."""
    pixels = (agent.hyperparams or {}).get("pixels")
    return bool(pixels) and not (isinstance(pixels, dict) and pixels.get("grey") is False)


def beside_agent_view(frame: np.ndarray, obs: np.ndarray, grey: bool) -> np.ndarray:
    """``frame`` ``(H, W, 3)`` with the agent's newest image from ``obs`` ``(C, h, w)`` to its right, as tall as it.

    The newest image is the last channel when the channels are grey frames (``grey``, or C not 3
    and not a multiple of 3), else the last three channels as RGB. Enlarged without smoothing
    (each agent pixel a block), so the agent's resolution stays visible.
    """
    obs = np.asarray(obs)
    channels = obs.shape[0]
    newest = obs[-1:] if grey or channels % 3 else obs[-3:]
    image = np.repeat(np.moveaxis(newest, 0, -1), 3 // newest.shape[0], axis=2).astype(np.uint8)  # (h, w, 3)
    height = frame.shape[0]
    scale = max(1, round(height / image.shape[0]))
    big = np.kron(image, np.ones((scale, scale, 1), np.uint8))[:height]
    pad = np.zeros((height - big.shape[0], big.shape[1], 3), np.uint8)
    return np.concatenate([frame, np.concatenate([big, pad], axis=0)], axis=1)


def _frame(venv) -> np.ndarray:
    return _checked(venv.get_images()[0])


def _checked(image: Any) -> np.ndarray:
    """``image`` as ``(H, W, 3)`` uint8, or a :class:`UserError` when the env rendered none."""
    if image is None or np.asarray(image).ndim != 3:
        raise UserError("the environment rendered no rgb_array image", "its render() must return an (H, W, 3) array")
    return np.asarray(image, dtype=np.uint8)


def write_mp4(frames: list[np.ndarray], fps: float, out: Path) -> Path:
    """Encode ``frames`` as H.264 mp4 at ``out`` (atomically: a failed encode leaves no file)."""
    from moviepy import ImageSequenceClip

    if not frames:
        raise UserError("no frames were recorded")
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise UserError(f"video path {out} must end in .mp4")
    # Even sizes keep yuv420p (the format every player reads) happy.
    h, w = (frames[0].shape[0] // 2) * 2, (frames[0].shape[1] // 2) * 2
    clip = ImageSequenceClip([f[:h, :w] for f in frames], fps=fps)

    def encode(tmp: Path) -> None:
        try:
            clip.write_videofile(str(tmp), codec="libx264", audio=False, logger=None,
                                 ffmpeg_params=["-pix_fmt", "yuv420p"])
        except OSError as err:
            if err.errno in (errno.ENOSPC, errno.EROFS, errno.EDQUOT):
                raise  # atomic_write reports the disk
            if "No space left on device" in str(err):  # ffmpeg's own write failed; moviepy passes its stderr
                raise OSError(errno.ENOSPC, "No space left on device") from err
            raise _ffmpeg_error(out, err) from err

    atomic_write(out, encode)
    return out


def _ffmpeg_error(out: Path, err: OSError) -> UserError:
    """The encoder is missing or failed: name the program moviepy ran and how to choose another."""
    from moviepy.video.io import ffmpeg_writer

    lines = [line.strip() for line in str(err).splitlines() if line.strip()]
    reason = lines[0] if lines else type(err).__name__
    return UserError(f"ffmpeg ({ffmpeg_writer.FFMPEG_BINARY}) could not encode {out}: {reason}",
                     "point IMAGEIO_FFMPEG_EXE at a working ffmpeg, or unset it to use the binary that "
                     "imageio-ffmpeg installs (pip install imageio-ffmpeg)")


def record(agent: LoadedAgent, out: Path, episodes: int = 1, seed: int = 0, deterministic: bool = True,
           max_episode_steps: int | None = None, agent_view: bool = False, opponent: str = "self") -> dict:
    """Record ``episodes`` episodes of ``agent`` into the mp4 ``out``; returns a summary.

    The summary: ``video``, ``frames``, ``fps``, ``returns`` and ``lengths`` (one per episode) and
    ``capped_episodes`` (episodes cut by the step cap, with a warning). A board game
    (:func:`collect_game_frames`) is played against ``opponent``; other envs take no opponent.
    """
    if episodes < 1:
        raise UserError(f"episodes must be at least 1, got {episodes}")
    if _turn_based(agent.env):
        if agent_view:
            raise UserError("--agent-view shows a pixel agent's images, and a board game has none",
                            "record without --agent-view")
        frames, fps, done = collect_game_frames(agent, episodes, seed, deterministic, opponent)
    elif opponent != "self":
        raise UserError(f"--opponent is for two-player board games, and {agent.env} is not one",
                        "record without --opponent")
    else:
        frames, fps, done = collect_frames(agent, episodes, seed, deterministic, max_episode_steps, agent_view)
    capped = warn_capped(done, "recorded")
    write_mp4(frames, fps, out)
    return {"video": str(out), "frames": len(frames), "fps": fps, "returns": [e["r"] for e in done],
            "lengths": [int(e["l"]) for e in done],
            "capped_episodes": capped}


def _turn_based(env: Any) -> bool:
    """Whether ``env`` is a turn-based game (an unknown spec is not: building it reports it)."""
    target = lenient_target(env)
    return target is not None and target.kind is EnvKind.TURN_BASED
