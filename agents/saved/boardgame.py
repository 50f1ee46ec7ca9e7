"""Two-player turn-based games (PettingZoo classic): boards, players and the game loop.

Shared by ``gymsuite play`` (a person against an agent, :mod:`gymsuite.agents.saved.humanplay`) and
``gymsuite record`` (a video of a game, :mod:`gymsuite.agents.saved.video`). PettingZoo plays the game
(its AEC env, its rules, its ``render_mode="rgb_array"`` frames); this module adds what it lacks:
players as plain functions, the loop that seats them, and how a person points at a move.

Shapes: a player is ``fn(obs, mask) -> action`` with ``obs`` ``(H, W, 2)`` the mover's view of the
board (the game's ``"observation"``), ``mask`` ``(A,)`` the legal moves (``"action_mask"``) and
``action`` an int in ``[0, A)``; frames are ``(H, W, 3)`` uint8.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from sb3_contrib import MaskablePPO

from gymsuite.agents.multiagent.selfplay import policy_opponent
from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent import games
from gymsuite.envs.multiagent.build import board_tactics
from gymsuite.envs.multiagent.turnbased import Opponent, random_opponent
from gymsuite.envs.target import resolve_env

Player = Opponent  # fn(obs, mask) -> action, as the self-play opponents


def _tictactoe_click(x: float, y: float, width: int, height: int) -> int:
    """The cell under ``(x, y)``: PettingZoo numbers the cells down the columns (action = 3 * column + row)."""
    return 3 * int(3 * x / width) + int(3 * y / height)


def _connect_four_click(x: float, y: float, width: int, height: int) -> int:
    """The column under ``x``: PettingZoo's board has a border of 4/99 of its width and columns 13/99 wide."""
    return min(6, max(0, int((99 * x / width - 4) // 13)))


def _tictactoe_keys() -> dict[str, int]:
    """Keys 1-9 in reading order (1 top left, 3 top right, 9 bottom right), on the main row and the keypad."""
    keys = {}
    for key in range(1, 10):
        row, column = divmod(key - 1, 3)
        keys[str(key)] = keys[f"[{key}]"] = 3 * column + row
    return keys


@dataclass(frozen=True)
class Board:
    """How a person points at a move in one game.

    Attributes:
        title: the game's name for people.
        keys: pygame key name -> action.
        help: the bindings, shown on screen.
        click: ``(x, y, frame width, frame height) -> action`` for a click inside the frame.
        marks: what each seat puts on the board, in seat order.
        unit: what a move points at (``"cell"``, ``"column"``), numbered as its key.
        render_kwargs: env kwargs for a frame that fits a window (PettingZoo's default is 1000 pixels).
    """

    title: str
    keys: dict[str, int]
    help: str
    click: Callable[[float, float, int, int], int]
    marks: tuple[str, str]
    unit: str
    render_kwargs: dict[str, Any] = field(default_factory=dict)

    def action_at(self, x: float, y: float, frame: np.ndarray) -> int | None:
        """The move a click at ``(x, y)`` (pixels of ``frame`` ``(H, W, 3)``) points at, None outside it."""
        height, width = frame.shape[:2]
        if not (0 <= x < width and 0 <= y < height):
            return None
        return self.click(x, y, width, height)

    def move_name(self, action: int) -> str:
        """``action`` as the person names it: ``"cell 3"`` (tic-tac-toe's top right), ``"column 1"``."""
        return f"{self.unit} {next(key for key, move in self.keys.items() if move == action)}"


# Game name (the last part of the env spec) -> its board.
BOARDS: dict[str, Board] = {
    "tictactoe_v3": Board("tic-tac-toe", _tictactoe_keys(), "click a cell or press 1-9 (1 top left, 9 bottom right)",
                          _tictactoe_click, ("X", "O"), "cell", {"screen_height": 480}),
    "connect_four_v3": Board("connect four", {key: c for c in range(7) for key in (str(c + 1), f"[{c + 1}]")},
                             "click a column or press 1-7 (left to right)", _connect_four_click, ("red", "black"),
                             "column", {"screen_scaling": 6}),
}


def game_name(spec: str) -> str:
    """``"pettingzoo.classic.tictactoe_v3"`` -> ``"tictactoe_v3"`` (also for ``module:function`` specs)."""
    return str(spec).rsplit(":", 1)[-1].rsplit(".", 1)[-1]


def board_for(spec: str) -> Board:
    """The board of ``spec``.

    Raises:
        UserError: a game without a mapping from keys and clicks to moves.
    """
    board = BOARDS.get(game_name(spec))
    if board is None:
        names = ", ".join(f"pettingzoo.classic.{name}" for name in BOARDS)
        raise UserError(f"{spec} has no board input mapping, so it cannot be played with the mouse or keyboard",
                        f"play one of {names}")
    return board


def make_game(spec: str, render_mode: str | None = None, **env_kwargs: Any) -> Any:
    """The AEC env of the two-player turn-based game ``spec`` (:func:`gymsuite.envs.target.resolve_env`).

    Raises:
        UserError: ``spec`` is not such a game.
    """
    make_aec = resolve_env(spec).game
    if make_aec is None:
        raise UserError(f"{spec} is not a turn-based two-player game",
                        "pass one such as pettingzoo.classic.tictactoe_v3 or pettingzoo.classic.connect_four_v3")
    env = make_aec(render_mode=render_mode, **env_kwargs)
    if len(env.possible_agents) != 2:
        env.close()
        raise UserError(f"{spec} has {len(env.possible_agents)} players, not 2", "pass a two-player game")
    return env


OPPONENTS = games.OPPONENTS


def named_player(name: str, spec: str, seed: int | None = None) -> Player:
    """The built-in player ``name`` (random, scripted, minimax: :mod:`gymsuite.envs.multiagent.games`) for the game
    ``spec``.

    Raises:
        UserError: an unknown name, or one the game has no rules for (minimax beyond tic-tac-toe).
    """
    return games.opponent(name, games.game_of(game_name(spec)), seed)


def agent_player(agent: Any, spec: str, seed: int | None = None, deterministic: bool = True) -> Player:
    """The loaded agent (:class:`gymsuite.agents.saved.loading.LoadedAgent`) as a player of ``spec``.

    Raises:
        UserError: the agent was trained on another game, or its model does not fit the board.
    """
    trained = agent.trained_env or agent.env
    if agent.model is None:
        return random_opponent(np.random.default_rng(seed))
    where = agent.run.root if agent.run is not None else "the model"
    if trained is not None and game_name(trained) != game_name(spec):
        raise UserError(f"{where} was trained on {trained}, not on {spec}",
                        f"play {trained} (--env {trained}), or pass a run trained on {spec}")
    game = make_game(spec)
    try:
        first = game.possible_agents[0]
        board = game.observation_space(first)["observation"].shape
        moves = game.action_space(first).n
    finally:
        game.close()
    model = agent.model
    if not isinstance(model, MaskablePPO):
        raise UserError(f"{where} holds a {type(model).__name__} model, and board games are played by "
                        "sb3-contrib MaskablePPO models (they read the legal moves)",
                        f"pass a run trained with --algo selfplay on {spec}")
    if model.observation_space.shape != tuple(board) or getattr(model.action_space, "n", None) != moves:
        raise UserError(f"{where} does not fit {spec}: it sees {model.observation_space} and plays {model.action_space}"
                        f", the game has a board of shape {board} and {moves} moves",
                        f"pass a run trained on {spec} with --algo selfplay")
    tactics = board_tactics(spec) if agent.env_options.multiagent.tactics else None  # as it was trained
    return policy_opponent(model.policy, deterministic, tactics)
