"""A person against a player in a two-player turn-based game: the seat that reads clicks and keys, and the tally.

The window and its event queue belong to the command (``gymsuite play``: pygame); here they are
two small protocols, so the whole game loop runs in tests with scripted events and no screen.
Frames are ``(H, W, 3)`` uint8 (the game's own rendering); a click's ``pos`` is in frame pixels.
"""

from __future__ import annotations

import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from gymsuite.agents.saved.boardgame import Board, Player
from gymsuite.envs.multiagent.turnbased import play_game


@dataclass(frozen=True)
class Event:
    """What the person did: ``kind`` ``"key"`` (``key``: pygame's key name), ``"click"`` (``pos``) or ``"quit"``."""

    kind: str
    key: str = ""
    pos: tuple[float, float] = (-1.0, -1.0)


class EventSource(Protocol):
    def next(self) -> Event:
        """The next event, waiting for it."""


class Display(Protocol):
    def show(self, frame: np.ndarray, lines: list[str]) -> None:
        """Draw ``frame`` ``(H, W, 3)`` uint8 with ``lines`` of text."""


class ScriptedEvents:
    """Events from a list (tests); a quit once they run out."""

    def __init__(self, events: Iterable[Event]) -> None:
        self._events: Iterator[Event] = iter(events)

    def next(self) -> Event:
        return next(self._events, Event("quit"))


def keys(*names: str) -> list[Event]:
    """Key presses (tests and scripts): ``keys("5", "1")``."""
    return [Event("key", name) for name in names]


class QuitError(Exception):
    """The person closed the window or pressed q/Esc."""


@dataclass
class Tally:
    """The person's results."""

    win: int = 0
    draw: int = 0
    loss: int = 0

    def add(self, outcome: int) -> None:
        """Count an outcome: 1 win, 0 draw, -1 loss."""
        if outcome > 0:
            self.win += 1
        elif outcome < 0:
            self.loss += 1
        else:
            self.draw += 1

    @property
    def games(self) -> int:
        return self.win + self.draw + self.loss

    def __str__(self) -> str:
        return f"{self.win} won, {self.draw} drawn, {self.loss} lost"


_RESULT = {1: "you won", 0: "a draw", -1: "you lost"}


class HumanSeat:
    """The person's seat: shows the board, waits for a click or key that names a legal move.

    A key or click that names no move, or a move the action mask forbids, is refused with a
    message and the seat waits again; q, Esc or closing the window raises :class:`QuitError`.
    """

    def __init__(self, env: Any, board: Board, events: EventSource, display: Display, mark: str) -> None:
        self.env, self.board, self.events, self.display, self.mark = env, board, events, display, mark
        self.status = ""
        self.refused = 0

    def __call__(self, obs: np.ndarray, mask: np.ndarray) -> int:
        message = ""
        while True:
            frame = np.asarray(self.env.render())
            status = f"{self.status}   your move ({self.mark})"
            self.display.show(frame, [self.board.help + "; q: quit", status, message])
            event = self.events.next()
            if event.kind == "quit":
                raise QuitError
            if event.kind == "click":
                action = self.board.action_at(*event.pos, frame)
            else:
                action = self.board.keys.get(event.key)
            if action is None:
                message = f"{event.key or 'that click'} is not a move: {self.board.help}"
            elif not mask[action]:
                message = f"{self.board.move_name(action)} is not a legal move (taken or full): choose another"
                self.refused += 1
            else:
                return action


def play_games(env: Any, board: Board, opponent: Player, seat: int, games: int, events: EventSource,
               display: Display, seed: int | None = None, delay: float = 0.0,
               report: Any = print) -> Tally:
    """Let a person play ``games`` games in ``seat`` (0 moves first) against ``opponent``; returns the tally.

    After each game the result stays on screen until the next click or key (q/Esc: stop); a
    game left unfinished is not counted. ``delay``: seconds the board stays after the opponent's
    move (so the person sees it); ``report``: where each game's result line goes.
    """
    tally = Tally()
    human = HumanSeat(env, board, events, display, board.marks[seat])
    players: list[Player] = [human, opponent] if seat == 0 else [opponent, human]

    def shown() -> None:
        display.show(np.asarray(env.render()), [board.help, f"{human.status}   opponent's move", ""])
        if delay and env.agent_selection == env.possible_agents[seat] and env.agents:
            time.sleep(delay)  # the opponent has just moved

    try:
        for game in range(games):
            human.status = f"game {game + 1}/{games}   {tally}"
            result = play_game(env, players, seed=None if seed is None else seed + game, on_move=shown)
            outcome = result.outcome(seat)
            tally.add(outcome)
            report(f"game {game + 1}: {_RESULT[outcome]} ({result.moves} moves)")
            last = "click or press a key for the next game" if game + 1 < games else "click or press a key to close"
            display.show(np.asarray(env.render()), [f"{_RESULT[outcome]}!", f"{tally}", f"{last}; q: quit"])
            if events.next().kind == "quit":
                break
    except QuitError:
        pass
    return tally
