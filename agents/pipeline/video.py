"""Recording gameplay videos through moviepy."""

from __future__ import annotations

import errno
import os
from pathlib import Path
from typing import Any

import numpy as np

from agents.pipeline.loading import LoadedAgent, make_agent_env
from common.errors import UserError
from common.files import atomic_write

# rgb_array rendering needs no screen; without one, SDL (pygame) complains on stderr unless told so.
if not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")):
    os.environ.setdefault("SDL_VIDEODRIVER", "dummy")


def collect_frames(agent: LoadedAgent, episodes: int, seed: int = 0, deterministic: bool = True,
                   max_frames: int = 10_000) -> tuple[list[np.ndarray], float, list[float]]:
    """Play ``episodes`` episodes in one env and return its frames ``(H, W, 3)`` uint8, fps and returns."""
    venv = make_agent_env(agent, seed=seed, n_envs=1, render_mode="rgb_array")
    try:
        render_fps: Any = venv.metadata.get("render_fps")
        fps = float(render_fps or 30)
        frames: list[np.ndarray] = []
        returns: list[float] = []
        obs = venv.reset()
        frames.append(_frame(venv))
        while len(returns) < episodes and len(frames) < max_frames:
            obs, _, dones, infos = venv.step(agent.act(obs, venv, deterministic))
            if dones[0]:
                returns.append(float(infos[0]["episode"]["r"]))
            frames.append(_frame(venv))  # after a done this is the next episode's first frame
    finally:
        venv.close()
    return frames, fps, returns


def _frame(venv) -> np.ndarray:
    image = venv.get_images()[0]
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


def record(agent: LoadedAgent, out: Path, episodes: int = 1, seed: int = 0, deterministic: bool = True) -> dict:
    """Record ``episodes`` episodes of ``agent`` into the mp4 ``out``; returns a summary."""
    if episodes < 1:
        raise UserError(f"episodes must be at least 1, got {episodes}")
    frames, fps, returns = collect_frames(agent, episodes, seed, deterministic)
    write_mp4(frames, fps, out)
    return {"video": str(out), "frames": len(frames), "fps": fps, "returns": returns}
