"""Recording gameplay videos: frames piped to ffmpeg (the binary moviepy chooses), checked before they count.

A video shows the env's own rendering (``render_mode="rgb_array"``), not the small images a pixel
agent sees; ``agent_view`` puts what the agent sees (its newest frame, enlarged) beside it.
A two-player turn-based game (PettingZoo classic) is recorded move by move: one frame at the
start of each game and one after every move.
Shapes: frames ``(H, W, 3)`` uint8; an image observation as the model sees it ``(C, h, w)``.
"""

from __future__ import annotations

import contextlib
import errno
import os
import signal
import subprocess
import tempfile
from fractions import Fraction
from pathlib import Path
from typing import Any

import gymnasium as gym
import numpy as np
from moviepy.video.io import ffmpeg_writer
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.saved import boardgame
from gymsuite.agents.saved.evaluation import episode_of, is_parallel, warn_capped
from gymsuite.agents.saved.loading import LoadedAgent, make_agent_env
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write, free_space
from gymsuite.envs import atari
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
    grey = grey_frames(agent)

    def shot(obs: Any) -> np.ndarray:
        return beside_agent_view(_frame(venv), obs[0], grey) if agent_view else _frame(venv)

    try:
        if agent_view and np.asarray(venv.observation_space.shape).size != 3:
            raise UserError(f"--agent-view shows image observations, and {agent.env}'s is {venv.observation_space}",
                            "record without --agent-view")
        fps = frame_rate(venv)
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


def frame_rate(venv: VecEnv) -> float:
    """A video's frames per second at one frame per step, so that it plays at the game's pace.

    An Atari game's is the console's 60 Hz over the frames one step plays
    (:func:`gymsuite.envs.atari.steps_per_second`); any other env's is its ``render_fps``, else 30.
    """
    envs = getattr(venv.unwrapped, "envs", None)  # a DummyVecEnv's gymnasium envs, with their wrappers
    rate = atari.steps_per_second(envs[0]) if envs else None
    declared: Any = venv.metadata.get("render_fps")
    return float(rate or declared or 30)


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


def grey_frames(agent: LoadedAgent) -> bool:
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
    """Encode ``frames`` ``(H, W, 3)`` uint8 as an H.264 mp4 at ``out``, atomically and checked.

    ffmpeg encodes in a subprocess, so its failures (a full disk while it writes the file's index, a
    killed encoder) never reach Python as exceptions: its exit status is checked, and the temporary
    file must decode to exactly ``len(frames)`` frames before it replaces ``out``. Otherwise a
    :class:`UserError` names ``out`` and the free space, the temporary is removed and a previous
    ``out`` stays as it was.
    """
    if not frames:
        raise UserError("no frames were recorded")
    out = Path(out)
    if out.suffix.lower() != ".mp4":
        raise UserError(f"video path {out} must end in .mp4")
    atomic_write(out, lambda tmp: _encode(frames, fps, tmp, out))
    return out


def _encode(frames: list[np.ndarray], fps: float, tmp: Path, out: Path) -> None:
    """Pipe ``frames`` through ffmpeg into ``tmp``; raise unless ffmpeg succeeded and ``tmp`` holds them all."""
    exe = ffmpeg_writer.FFMPEG_BINARY  # moviepy's choice: FFMPEG_BINARY, IMAGEIO_FFMPEG_EXE or imageio-ffmpeg's
    # Even sizes keep yuv420p (the format every player reads) happy.
    h, w = (frames[0].shape[0] // 2) * 2, (frames[0].shape[1] // 2) * 2
    rate = Fraction(fps).limit_denominator(1001)  # 12.5 fps -> 25/2, exactly
    cmd = [exe, "-y", "-nostdin", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}",
           "-r", str(rate), "-i", "-", "-an", "-c:v", "libx264", "-pix_fmt", "yuv420p", str(tmp)]
    with tempfile.TemporaryFile() as log:  # ffmpeg's stderr; an unread pipe could fill up and stall it
        try:
            proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL, stderr=log)
        except OSError as err:  # missing, not executable
            raise _ffmpeg_error(out, err) from err
        stdin: Any = proc.stdin
        try:
            for frame in frames:
                stdin.write(np.ascontiguousarray(frame[:h, :w], dtype=np.uint8).tobytes())
            stdin.close()
        except BrokenPipeError:  # ffmpeg stopped reading: its status and messages below say why
            with contextlib.suppress(BrokenPipeError):
                stdin.close()
        except BaseException:  # Ctrl-C: ffmpeg stops too
            proc.kill()
            raise
        finally:
            proc.wait()
        log.seek(0)
        said = log.read().decode(errors="replace")
    if proc.returncode != 0:
        if "No space left on device" in said:
            raise OSError(errno.ENOSPC, "No space left on device")  # atomic_write reports the disk
        raise _failed(exe, out, _status(proc.returncode, said))
    decoded, problem = _decoded_frames(exe, tmp)
    if decoded != len(frames):
        raise _failed(exe, out, problem or f"it holds {decoded} of the {len(frames)} frames written")


def _decoded_frames(exe: str, video: Path) -> tuple[int | None, str]:
    """How many frames ``video`` decodes to (None when it does not decode), and ffmpeg's complaint if any."""
    done = subprocess.run([exe, "-nostdin", "-v", "error", "-i", str(video), "-map", "0:v:0", "-f", "null",
                           "-progress", "pipe:1", "-nostats", "-"], capture_output=True, text=True, check=False)
    counts = [line.split("=", 1)[1] for line in done.stdout.splitlines() if line.startswith("frame=")]
    if done.returncode != 0 or not counts:
        return None, f"it does not decode ({_status(done.returncode, done.stderr)})"
    return int(counts[-1]), ""


def _status(code: int, said: str) -> str:
    """ffmpeg's last message, else how it ended (``said``: its stderr)."""
    lines = [line.strip() for line in said.splitlines() if line.strip()]
    if lines:
        return lines[-1]
    return f"killed by {signal.Signals(-code).name}" if code < 0 else f"exit status {code}"


def _failed(exe: str, out: Path, reason: str) -> UserError:
    """ffmpeg wrote no complete video at ``out``: a full disk is the usual cause, a broken ffmpeg the other."""
    return UserError(f"ffmpeg ({exe}) could not write {out}: {reason} ({free_space(out)}); {out} was not changed",
                     "free some disk space or write elsewhere with --out; if space is not the problem, point "
                     "IMAGEIO_FFMPEG_EXE at a working ffmpeg, or unset it to use the binary that imageio-ffmpeg "
                     "installs")


def _ffmpeg_error(out: Path, err: OSError) -> UserError:
    """The encoder is missing or cannot run: name the program and how to choose another."""
    return UserError(f"ffmpeg ({ffmpeg_writer.FFMPEG_BINARY}) could not encode {out}: {err.strerror or err}",
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
