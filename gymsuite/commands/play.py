"""Play an environment with the keyboard and save what you did as demonstrations, or play a board game.

    gymsuite play --env CartPole-v1 --out my_cartpole.npz --episodes 3
    gymsuite play --env LunarLander-v3 --out my_landings.npz
    gymsuite play --env pettingzoo.classic.tictactoe_v3 --opponent minimax --seat 1
    gymsuite play --opponent runs/selfplay-connect_four_v3-s0 --games 5

The key bindings are shown in the window. Real-time tasks with their own bindings:
CartPole (left/right arrows), MountainCar and Acrobot (left/right arrows; no key: no
push), LunarLander (up: main engine, left/right: side engines). Any other env with a
Discrete(n <= 10) action space is turn-based: the env waits for a digit key 0..n-1.
Esc, q or closing the window stops; complete episodes are saved (same format as
collect_demos.py), the unfinished one is dropped.

Board games (pettingzoo.classic tictactoe_v3 and connect_four_v3) are played against --opponent:
a run directory or model .zip trained with --algo selfplay, or random, scripted, minimax. Click a
cell (tic-tac-toe) or a column (connect four), or press 1-9 (cells in reading order) / 1-7
(columns); an illegal move is refused. --seat 0 moves first. A win/draw/loss tally is printed.

play needs a window you can see: with DISPLAY and WAYLAND_DISPLAY unset, set where no display server
answers, or SDL_VIDEODRIVER=dummy/offscreen it exits with code 2 before opening one, and it gives up
after 5 minutes without a first key or click.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gymsuite.commands import _cli
from gymsuite.commands._display import NO_WINDOW_DRIVERS, display_problem


@dataclass(frozen=True)
class KeyMap:
    """How keys become actions.

    Attributes:
        keys: pygame key name (``"left"``, ``"up"``, ``"3"``) -> action, the first held one wins.
        idle: action while no mapped key is held; None repeats the last action.
        help: the bindings, shown on screen.
        fps: steps per second (real time); 0 for turn-based play.
        turn_based: step only when a mapped key is pressed.
    """

    keys: dict[str, int]
    idle: int | None
    help: str
    fps: int = 30
    turn_based: bool = False

    def action(self, held: set[str], pressed: set[str], last: int) -> int | None:
        """The action for this frame, or None (turn-based and no key pressed)."""
        keys = pressed if self.turn_based else held
        for key, action in self.keys.items():
            if key in keys:
                return action
        if self.turn_based:
            return None
        return last if self.idle is None else self.idle


_CARTPOLE = KeyMap({"left": 0, "right": 1}, None, "LEFT/RIGHT: push the cart (no key: keep pushing)", 15)
KEYMAPS: dict[str, KeyMap] = {
    "CartPole-v1": _CARTPOLE,
    "CartPole-v0": _CARTPOLE,
    "MountainCar-v0": KeyMap({"left": 0, "right": 2}, 1, "LEFT/RIGHT: accelerate (no key: coast)", 30),
    "Acrobot-v1": KeyMap({"left": 0, "right": 2}, 1, "LEFT/RIGHT: torque on the joint (no key: none)", 15),
    "LunarLander-v3": KeyMap({"up": 2, "left": 1, "right": 3}, 0,
                             "UP: main engine, LEFT/RIGHT: left/right side engine (no key: off)", 30),
}


def keymap_for(env_name: str, action_space: Any) -> KeyMap:
    """The bindings for ``env_name``: its own, or digit keys for a small Discrete space.

    Raises:
        UserError: an action space that cannot be played from the keyboard.
    """
    from gymnasium import spaces

    from gymsuite.common.errors import UserError

    if env_name in KEYMAPS:
        return KEYMAPS[env_name]
    if isinstance(action_space, spaces.Discrete) and action_space.n <= 10:
        start, n = int(action_space.start), int(action_space.n)
        return KeyMap({str(i): start + i for i in range(n)}, None,
                      f"keys 0-{n - 1}: action 0-{n - 1} (the env waits for a key)", 0, turn_based=True)
    raise UserError(f"{env_name} cannot be played from the keyboard: its action space is {action_space}",
                    f"play one of {', '.join(KEYMAPS)} or an env with a Discrete action space of at most 10 actions")


class KeySource(Protocol):
    def poll(self) -> tuple[set[str], set[str], bool]:
        """``(held keys, keys pressed since the last poll, quit requested)``."""


class PygameKeys:
    """The keyboard of the pygame window."""

    def __init__(self, watched: Iterable[str]) -> None:
        import pygame

        self.pygame = pygame
        self.codes = {name: pygame.key.key_code(name) for name in watched}

    def poll(self) -> tuple[set[str], set[str], bool]:
        pg = self.pygame
        pressed, quit_ = set(), False
        for event in pg.event.get():
            if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key in (pg.K_ESCAPE, pg.K_q)):
                quit_ = True
            elif event.type == pg.KEYDOWN:
                pressed.add(pg.key.name(event.key))
        state = pg.key.get_pressed()
        return {name for name, code in self.codes.items() if state[code]}, pressed, quit_


class ScriptedKeys:
    """Key sets from a list, one per poll (held and pressed alike); quits when it runs out (tests)."""

    def __init__(self, frames: Iterable[Iterable[str]]) -> None:
        self._frames: Iterator[Iterable[str]] = iter(frames)

    def poll(self) -> tuple[set[str], set[str], bool]:
        frame = next(self._frames, None)
        if frame is None:
            return set(), set(), True
        return set(frame), set(frame), False


class Screen:
    """A pygame window showing the env's rgb frame with the bindings and the score above it."""

    def __init__(self, title: str) -> None:
        import pygame

        from gymsuite.common.errors import UserError

        self.pygame = pygame
        pygame.init()
        # SDL falls back to its invisible "offscreen" driver where it can open no display (an X server that
        # answers but refuses this client): play would wait forever. Asked for by name, it is a test's.
        driver = pygame.display.get_driver() if pygame.display.get_init() else "none"
        if driver in (*NO_WINDOW_DRIVERS, "none") and os.environ.get("SDL_VIDEODRIVER") != driver:
            pygame.quit()
            shown = " and ".join(f"{name}={os.environ[name]}" for name in ("DISPLAY", "WAYLAND_DISPLAY")
                                 if os.environ.get(name)) or "this machine"
            how = "SDL started no video driver" if driver == "none" else f"SDL took its invisible {driver} driver"
            raise UserError(f"the play window cannot open on {shown}: {how}",
                            "check that programs may open windows there (xauth, xhost), or run gymsuite play "
                            "in the desktop session itself")
        pygame.display.set_caption(title)
        self.font = pygame.font.Font(None, 22)
        self.window: Any = None  # the pygame display surface, made at the first frame's size
        self.top = 0  # pixels of text above the frame (a click's frame position is its window position less these)

    def show(self, frame: np.ndarray, lines: list[str]) -> None:
        """Draw ``frame`` ``(H, W, 3)`` uint8 below ``lines`` of text."""
        pg = self.pygame
        height, width = frame.shape[:2]
        top = self.top = 22 * len(lines) + 8
        if self.window is None:
            self.window = pg.display.set_mode((max(width, 480), height + top))
        window = self.window
        window.fill((255, 255, 255))
        for i, line in enumerate(lines):
            window.blit(self.font.render(line, True, (0, 0, 0)), (6, 4 + 22 * i))
        window.blit(pg.surfarray.make_surface(np.ascontiguousarray(frame.swapaxes(0, 1))), (0, top))
        pg.display.flip()

    def close(self) -> None:
        self.pygame.quit()


def check_display() -> None:
    """Raise a :class:`UserError` on Linux when no window a person sees can open (:mod:`._display`)."""
    if sys.platform.startswith("linux"):
        problem = display_problem(os.environ)
        if problem is not None:
            raise problem


# Until the first key or click: a window nobody can see or reach must not keep play waiting forever.
FIRST_INPUT_TIMEOUT_S = 300.0


def no_input_error() -> Exception:
    from gymsuite.common.errors import UserError

    return UserError(f"no key or click reached the play window in {FIRST_INPUT_TIMEOUT_S:g} s",
                     "check that the window shows on your screen and click it to give it the keyboard, then run "
                     "play again (Esc or q in the window stops it)")


class PygameEvents:
    """Clicks and key presses in the :class:`Screen` window, as :class:`gymsuite.agents.saved.humanplay.Event`."""

    def __init__(self, screen: Screen) -> None:
        self.screen = screen
        self.started, self.heard = time.monotonic(), False  # the first key or click (FIRST_INPUT_TIMEOUT_S)

    def next(self) -> Any:
        from gymsuite.agents.saved.humanplay import Event

        pg = self.screen.pygame
        while True:
            event = pg.event.wait(500)  # NOEVENT after 0.5 s without one
            if event.type == pg.NOEVENT:
                if not self.heard and time.monotonic() - self.started > FIRST_INPUT_TIMEOUT_S:
                    raise no_input_error()
                continue
            if event.type == pg.QUIT or (event.type == pg.KEYDOWN and event.key in (pg.K_ESCAPE, pg.K_q)):
                return Event("quit")
            if event.type == pg.KEYDOWN:
                self.heard = True
                return Event("key", pg.key.name(event.key))
            if event.type == pg.MOUSEBUTTONDOWN and event.button == 1:
                self.heard = True
                return Event("click", pos=(float(event.pos[0]), float(event.pos[1] - self.screen.top)))


def play(env_name: str, episodes: int, keys: KeySource | None = None, seed: int | None = None,
         fps: int | None = None, show: bool = True) -> Any:
    """Let a person play ``episodes`` episodes; returns the complete ones as
    :class:`gymsuite.agents.data.demos.Demos`."""
    from gymsuite.agents.data.recording import DemoRecorder
    from gymsuite.envs.factory import make_one

    if show:
        check_display()  # without a window a person sees, play would wait forever
    env = make_one(env_name, render_mode="rgb_array" if show else None)
    keymap = keymap_for(env_name, env.action_space)
    screen = Screen(f"gymsuite play: {env_name}") if show else None
    keys = keys or PygameKeys(keymap.keys)
    clock = screen.pygame.time.Clock() if screen else None
    rate = keymap.fps if fps is None else fps
    recorder = DemoRecorder(env_name, env.observation_space, env.action_space, source="keyboard (gymsuite play)")
    obs, _ = env.reset(seed=seed)
    recorder.start(obs)
    last = keymap.idle or 0
    ret = 0.0
    started, heard = time.monotonic(), False
    try:
        while recorder.episodes < episodes:
            held, pressed, quit_ = keys.poll()
            if quit_:
                break
            heard = heard or bool(held or pressed)
            action = keymap.action(held, pressed, last)
            if action is None and not heard and time.monotonic() - started > FIRST_INPUT_TIMEOUT_S:
                raise no_input_error()  # a turn-based env waits for keys; real-time ones play on without
            if action is not None:
                obs, reward, terminated, truncated, _ = env.step(action)
                recorder.add(action, float(reward), obs)
                last, ret = action, ret + float(reward)
                if terminated or truncated:
                    recorder.end(terminated, truncated)
                    print(f"episode {recorder.episodes}: return {ret:.1f}")
                    ret = 0.0
                    if recorder.episodes < episodes:
                        obs, _ = env.reset()
                        recorder.start(obs)
            if screen is not None:
                screen.show(np.asarray(env.render()), [keymap.help, "Esc/q: stop and save",
                                           f"episode {recorder.episodes + 1}/{episodes}   return {ret:.1f}"])
                if rate and clock is not None:
                    clock.tick(rate)
    finally:
        env.close()
        if screen is not None:
            screen.close()
    return recorder.demos()


def play_game_against(env_name: str | None, opponent: str, seat: int, games: int, seed: int | None = None,
                      events: Any = None, delay: float = 0.4) -> Any:
    """Let a person play ``games`` games of a board game in ``seat`` against ``opponent``; returns the tally.

    ``events``: where clicks and keys come from (default: the window's; tests pass scripted ones).
    """
    from gymsuite.agents.saved import boardgame
    from gymsuite.agents.saved.humanplay import play_games
    from gymsuite.common.errors import UserError

    if seat not in (0, 1):
        raise UserError(f"--seat must be 0 (you move first) or 1, got {seat}")
    if games < 1:
        raise UserError(f"--games must be at least 1, got {games}")
    if opponent in boardgame.OPPONENTS:
        if env_name is None:
            raise UserError(f"--opponent {opponent} needs a game", "pass --env pettingzoo.classic.tictactoe_v3 "
                            "(or connect_four_v3)")
        board = boardgame.board_for(env_name)
        player = boardgame.named_player(opponent, env_name, seed)
    else:
        from gymsuite.agents.saved.loading import load_agent

        agent = load_agent(opponent, env=env_name)
        env_name = str(agent.env)
        board = boardgame.board_for(env_name)
        player = boardgame.agent_player(agent, env_name, seed)
    check_display()  # without a window a person sees, play would wait forever
    screen = Screen(f"gymsuite play: {board.title} against {opponent}")
    env = boardgame.make_game(env_name, render_mode="rgb_array", **board.render_kwargs)
    try:
        tally = play_games(env, board, player, seat, games, events or PygameEvents(screen), screen, seed=seed,
                           delay=delay)
    finally:
        env.close()
        screen.close()
    print(f"you against {opponent} ({board.title}, seat {seat}): {tally}")
    return tally


def main(argv: list[str] | None = None) -> int:
    from gymsuite.agents.data.demos import save_demos
    from gymsuite.common.errors import UserError
    from gymsuite.envs.target import resolve_env

    p = _cli.parser("play", __doc__)
    p.add_argument("--env", help="environment to play (a board game's may come from --opponent's run)")
    p.add_argument("--out", help="single-agent envs: demonstrations file to write (.npz)")
    p.add_argument("--episodes", type=int, default=3, help="single-agent envs: episodes to play (default 3)")
    p.add_argument("--seed", type=int, help="seed of the first episode")
    p.add_argument("--fps", type=int, help="steps per second (default: per env; 0: as fast as keys come)")
    p.add_argument("--opponent", help="board games: a run directory or model .zip (--algo selfplay), or "
                   "random, scripted, minimax (default random)")
    p.add_argument("--seat", type=int, default=0, help="board games: your seat, 0 moves first (default 0)")
    p.add_argument("--games", type=int, default=3, help="board games: games to play (default 3)")
    args = p.parse_args(argv)
    if args.opponent is not None or (args.env is not None and resolve_env(args.env).multiagent):
        if args.out is not None:
            raise UserError("--out saves demonstrations of single-agent play, and a board game records none",
                            "leave out --out (gymsuite record writes a video of an agent's games)")
        play_game_against(args.env, args.opponent or "random", args.seat, args.games, seed=args.seed)
        return 0
    if args.env is None or args.out is None:
        raise UserError("play needs --env and --out (the demonstrations file)", "pass --env ENV --out FILE.npz")
    if args.episodes < 1:
        raise UserError(f"--episodes must be at least 1, got {args.episodes}")
    demos = play(args.env, args.episodes, seed=args.seed, fps=args.fps)
    out = save_demos(args.out, demos)
    print(f"saved {demos.n_episodes} episodes ({demos.n_transitions} steps) to {out}")
    return 0


if __name__ == "__main__":
    sys.exit(_cli.run(main))
