"""``gymsuite play`` never waits forever: no window a person sees is refused before one opens, naming the case,
and a window that no key or click reaches gives up after ``FIRST_INPUT_TIMEOUT_S``.

The commands run in a fresh process with the variables set (this process's SDL is the tests' dummy driver),
under a timeout, so a play that hangs fails the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gymsuite.commands import _display, play
from gymsuite.common.errors import UserError

REPO = Path(__file__).resolve().parents[2]
TTT = "pettingzoo.classic.tictactoe_v3"
DISPLAY_VARIABLES = ("DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER")


def free_display() -> str:
    """An X display number no server listens on here."""
    number = next(n for n in range(7357, 7457) if not os.path.exists(f"/tmp/.X11-unix/X{n}"))
    assert not _display.x_server_answers(f":{number}")
    return f":{number}"


def play_with(variables: dict[str, str], *argv: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    """``gymsuite play ARGV`` in a fresh process whose display variables are ``variables`` only."""
    env = {k: v for k, v in os.environ.items() if k not in DISPLAY_VARIABLES}
    env.update(variables, PYTHONPATH=str(REPO))
    try:
        return subprocess.run([sys.executable, "-m", "gymsuite", "play", *argv], env=env, cwd=cwd, capture_output=True,
                              text=True, timeout=120, check=False, stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"gymsuite play {' '.join(argv)} with {variables} still waited after 120 s")


GAME = ("--env", TTT, "--opponent", "random", "--games", "1")
KEYBOARD = ("--env", "gymsuite/SparseGrid-v0", "--out", "x.npz", "--episodes", "1")  # waits for digit keys


@pytest.mark.parametrize("argv", [GAME, KEYBOARD], ids=["board-game", "keyboard"])
@pytest.mark.parametrize("driver", ["dummy", "offscreen"])
def test_an_sdl_driver_that_shows_nothing_is_refused(tmp_path: Path, argv: tuple[str, ...], driver: str) -> None:
    proc = play_with({"SDL_VIDEODRIVER": driver, "DISPLAY": ":0"}, *argv, cwd=tmp_path)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"SDL_VIDEODRIVER={driver}" in proc.stderr
    assert not (tmp_path / "x.npz").exists()


def test_a_display_where_no_server_answers_is_named() -> None:
    display = free_display()
    proc = play_with({"DISPLAY": display}, *GAME)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert f"DISPLAY={display}" in proc.stderr and "unset" not in proc.stderr.split("fix:")[0]


def test_no_display_variable_is_named_as_unset() -> None:
    proc = play_with({}, *GAME)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "DISPLAY and WAYLAND_DISPLAY are unset" in proc.stderr


def test_the_checks_in_order() -> None:
    display = free_display()
    assert "SDL_VIDEODRIVER=dummy" in str(_display.display_problem({"SDL_VIDEODRIVER": "dummy", "DISPLAY": ":0"}))
    assert "unset" in str(_display.display_problem({"SDL_VIDEODRIVER": "dummy"}))
    assert f"DISPLAY={display}" in str(_display.display_problem({"DISPLAY": display}))
    assert "WAYLAND_DISPLAY=nowhere-0" in str(_display.display_problem({"WAYLAND_DISPLAY": "nowhere-0",
                                                                         "XDG_RUNTIME_DIR": "/nonexistent"}))
    assert _display.display_problem({"SDL_VIDEODRIVER": "kmsdrm"}) is None  # a console driver chosen by hand


class Silent:
    """A keyboard nobody touches; fails the test instead of hanging when play waits on."""

    def __init__(self) -> None:
        self.start = time.monotonic()

    def poll(self) -> tuple[set[str], set[str], bool]:
        assert time.monotonic() - self.start < 30, "play waited 30 s for a key"
        return set(), set(), False


def test_keyboard_play_gives_up_when_no_key_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(play, "FIRST_INPUT_TIMEOUT_S", 0.5)
    with pytest.raises(UserError, match="no key or click"):
        play.play("gymsuite/SparseGrid-v0", 1, keys=Silent(), show=False)


def test_the_game_window_gives_up_when_no_key_or_click_comes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(play, "FIRST_INPUT_TIMEOUT_S", 0.5)
    screen = play.Screen("test")  # SDL's dummy driver (tests/conftest.py): no event ever comes
    try:
        pg = screen.pygame
        pg.time.set_timer(pg.QUIT, 20_000, loops=1)  # a waiting window quits after 20 s instead of hanging
        with pytest.raises(UserError, match="no key or click"):
            play.PygameEvents(screen).next()
    finally:
        screen.close()
