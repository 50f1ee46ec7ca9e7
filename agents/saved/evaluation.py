"""Evaluation: run an agent for whole episodes and summarise the environment's own return.

On a multi-agent env (gymsuite's bridge) an episode is a copy's joint episode: its return is the mean over
agents, and the summary adds ``per_agent`` figures.

A turn-based game (``gymsuite.envs.multiagent.turnbased``) is also played from each seat against each fixed opponent
(random, scripted, and minimax for tic-tac-toe): ``games: {opponent: {"seat_0": {"win", "draw", "loss",
"games"}, "seat_1": ...}}``, and ``mean_return`` is the mean outcome against random (both seats).
:func:`describe` writes a summary as a person reads it: for a game, against whom and the table from each seat.
"""

from __future__ import annotations

import time
import warnings
from typing import Any, Protocol

import numpy as np
from stable_baselines3.common.vec_env import VecEnv
from stable_baselines3.common.vec_env.base_vec_env import VecEnvObs
from torch.distributions import Categorical

from gymsuite.agents.saved.loading import LoadedAgent
from gymsuite.envs.multiagent.bridge import ParallelVecEnv
from gymsuite.envs.multiagent.games import PLAYS, game_of, opponent, opponents_for
from gymsuite.envs.multiagent.turnbased import random_opponent
from gymsuite.envs.target import EnvKind, lenient_target
from gymsuite.supervised.distributions import unchecked


class Actor(Protocol):
    """What plays episodes: :class:`LoadedAgent`, or a wrapper that changes what it sees (an attack, a defence)."""

    def act(self, obs: VecEnvObs, venv: VecEnv, deterministic: bool = True, *, episode_start: np.ndarray
            ) -> np.ndarray: ...


def is_parallel(venv: VecEnv) -> bool:
    """Whether ``venv`` is (wraps) gymsuite's multi-agent bridge, whose episodes are joint episodes of all agents."""
    return isinstance(venv.unwrapped, ParallelVecEnv)


def episode_of(info: dict[str, Any], multiagent: bool) -> dict[str, Any] | None:
    """The episode that ended with this step's ``info`` (None: none did): SB3 Monitor's ``{"r", "l", "t"}``,
    ``"capped"`` (the step cap that cut it short, else 0) and, where the env reports it at the episode's end (SB3's
    ``info["is_success"]``: Meta-World's tasks, :mod:`gymsuite.envs.metaworld`), ``"success"`` (1.0 or 0.0); for an
    RL² trial, ``"trial_returns"`` (its episodes' returns).

    ``multiagent`` (the bridge, :func:`is_parallel`): the joint episode of a copy, reported on its first slot
    (``info["joint_episode"]``); ``r`` is the mean over agents of their returns, ``agents`` holds each one's.
    """
    capped = float(info.get("episode_capped", 0))
    if not multiagent:
        if "episode" not in info:
            return None
        episode: dict[str, Any] = {**{k: float(v) for k, v in info["episode"].items()}, "capped": capped}
        if "trial_returns" in info:  # an RL² trial (envs/wrappers/trials.py): its episodes' returns
            episode["trial_returns"] = [float(r) for r in info["trial_returns"]]
        return episode if info.get("is_success") is None else {**episode, "success": float(info["is_success"])}
    joint = info.get("joint_episode")
    if joint is None:
        return None
    agents = {str(a): float(r) for a, r in joint["r"].items()}
    return {"r": float(np.mean(list(agents.values()))), "l": float(joint["l"]), "t": float(joint.get("t", 0.0)),
            "capped": capped, "agents": agents}


def run_episodes(agent: Actor, venv: VecEnv, episodes: int, deterministic: bool = True) -> list[dict[str, Any]]:
    """Play until ``episodes`` episodes finish; return :func:`episode_of` for each, with ``"env"``: the index of the
    env (of the copy, on a multi-agent env) that played it.

    Monitor sits inside any shaping wrapper, so ``r`` is always the env's own return.
    With several envs, episodes are taken in the order they finish, as SB3's
    ``evaluate_policy`` does; each env (each copy of a multi-agent env) contributes at most its share to
    avoid biasing towards short episodes. A recurrent agent's state starts each episode at zero
    (:meth:`~gymsuite.agents.saved.loading.LoadedAgent.act` gets each step's ``dones``).
    """
    bridge = venv.unwrapped
    multiagent = isinstance(bridge, ParallelVecEnv)
    group = len(bridge.agents) if isinstance(bridge, ParallelVecEnv) else 1  # slots per env copy
    n = venv.num_envs // group
    quota = np.array([(episodes + i) // n for i in range(n)])
    done_count = np.zeros(n, dtype=int)
    results: list[dict[str, Any]] = []
    obs, dones = venv.reset(), np.ones(venv.num_envs, dtype=bool)
    with unchecked(Categorical):  # as in training (agents/run/training.py)
        while len(results) < episodes:
            obs, _, dones, infos = venv.step(agent.act(obs, venv, deterministic, episode_start=dones))
            for i in np.flatnonzero(dones):
                episode = episode_of(infos[i], multiagent)
                if episode is not None and done_count[i // group] < quota[i // group]:
                    done_count[i // group] += 1
                    results.append({**episode, "env": i // group})
    return results


def warn_capped(episodes: list[dict[str, Any]], what: str = "evaluation") -> int:
    """Warn when episodes were cut by the step cap; return how many were."""
    capped = [e for e in episodes if e.get("capped")]
    if capped:
        warnings.warn(f"{len(capped)} of {len(episodes)} {what} episodes reached the step cap of "
                      f"{int(capped[0]['capped'])} steps and were cut short: their returns are not whole "
                      "episodes' (does the policy never end an episode?); set the cap with --max-episode-steps "
                      "(evaluate, record) or --eval-max-episode-steps (train)",
                      UserWarning, stacklevel=3)
    return len(capped)


def evaluate(agent: LoadedAgent, venv: VecEnv, episodes: int, deterministic: bool = True,
             actor: Actor | None = None) -> dict[str, Any]:
    """The summary written to ``eval.json`` and printed by ``evaluate.py --json``.

    ``actor``: what plays instead of ``agent`` itself (``agent`` behind a passive defence); not on a board game.
    """
    start = time.perf_counter()
    games = None
    target = lenient_target(agent.env)
    if target is not None and target.kind is EnvKind.TURN_BASED:
        games, eps = game_results(agent, venv, episodes, deterministic)
    else:
        eps = run_episodes(actor or agent, venv, episodes, deterministic)
    returns = np.array([e["r"] for e in eps])
    lengths = np.array([e["l"] for e in eps])
    capped = warn_capped(eps)
    summary = {
        "mean_return": float(returns.mean()),
        "std_return": float(returns.std()),
        "episodes": len(eps),
        "mean_length": float(lengths.mean()),
        "min_return": float(returns.min()),
        "max_return": float(returns.max()),
        "returns": [float(r) for r in returns],
        "capped_episodes": capped,
        "deterministic": deterministic,
        "algo": agent.algo,
        "env": agent.env,
        "seconds": round(time.perf_counter() - start, 3),
    }
    if eps and all("success" in e for e in eps):  # Meta-World's protocol: the share of episodes that succeeded
        summary["success_rate"] = float(np.mean([e["success"] for e in eps]))
    if eps and "agents" in eps[0]:  # a multi-agent env: mean_return is the mean over agents, here each one's
        per_agent = {a: np.array([e["agents"][a] for e in eps]) for a in eps[0]["agents"]}
        summary["per_agent"] = {a: {"mean_return": float(r.mean()), "std_return": float(r.std())}
                                for a, r in per_agent.items()}
    if games is not None:
        summary["games"] = games
    return summary


def pooled(first: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """Two :func:`evaluate` summaries of one agent as one over all their episodes: returns, lengths, step caps,
    seconds and success rate pooled; other entries (a game's tables, each agent's returns) are ``more``'s."""
    returns = np.array(first["returns"] + more["returns"])
    n1, n2 = first["episodes"], more["episodes"]
    out = {**more, "mean_return": float(returns.mean()), "std_return": float(returns.std()), "episodes": n1 + n2,
           "mean_length": (first["mean_length"] * n1 + more["mean_length"] * n2) / (n1 + n2),
           "min_return": float(returns.min()), "max_return": float(returns.max()),
           "returns": [float(r) for r in returns],
           "capped_episodes": first["capped_episodes"] + more["capped_episodes"],
           "seconds": round(first["seconds"] + more["seconds"], 3)}
    if "success_rate" in first and "success_rate" in more:
        out["success_rate"] = (first["success_rate"] * n1 + more["success_rate"] * n2) / (n1 + n2)
    return out


def seat_tally(outcomes: np.ndarray | list[float]) -> dict[str, float]:
    """Win, draw and loss rates and the number of ``games`` of one seat's ``(G,)`` outcomes (1, 0, -1)."""
    x = np.asarray(outcomes, dtype=float)
    return {"win": float(np.mean(x > 0)), "draw": float(np.mean(x == 0)), "loss": float(np.mean(x < 0)),
            "games": len(x)}


def game_results(agent: LoadedAgent, venv: VecEnv, episodes: int, deterministic: bool = True
                 ) -> tuple[dict[str, dict[str, dict[str, float]]], list[dict[str, Any]]]:
    """``episodes`` games per seat against each fixed opponent of a turn-based game, and the games against random.

    An episode's outcome is the sign of its return (win 1, draw 0, loss -1: ``SeatEnv``'s ``info["outcome"]``).
    The envs go back to their defaults afterwards (alternating seats, a random opponent).
    """
    game = game_of(str(agent.env))
    table: dict[str, dict[str, dict[str, float]]] = {}
    vs_random: list[dict[str, Any]] = []
    for name in opponents_for(game):
        table[name] = {}
        for seat in (0, 1):
            venv.env_method("set_seat", seat)
            for i in range(venv.num_envs):
                venv.env_method("set_opponent", opponent(name, game, 1000 * seat + i), indices=[i])
            eps = run_episodes(agent, venv, episodes, deterministic)
            table[name][f"seat_{seat}"] = seat_tally(np.sign([e["r"] for e in eps]))
            vs_random += eps if name == "random" else []
    venv.env_method("set_seat", "alternate")
    venv.env_method("set_opponent_draw", random_opponent)
    return table, vs_random


def describe(summary: dict[str, Any]) -> list[str]:
    """:func:`evaluate`'s ``summary`` as lines a person reads: the mean return over how many episodes (for a game,
    against whom), each agent's on a multi-agent env, and a game's win / draw / loss table from each seat."""
    games = summary.get("games")
    where = f"{summary['algo']} on {summary['env']}"
    if not games:
        success = f", success rate {summary['success_rate']:.0%}" if "success_rate" in summary else ""
        lines = [f"{where}: mean return {summary['mean_return']:.2f} +- {summary['std_return']:.2f} over "
                 f"{summary['episodes']} episodes (mean length {summary['mean_length']:.1f}){success}"]
        return lines + [f"  {name}: mean return {f['mean_return']:.2f} +- {f['std_return']:.2f}"
                        for name, f in summary.get("per_agent", {}).items()]  # mean_return is their mean
    return [f"{where}: mean return {summary['mean_return']:.2f} +- {summary['std_return']:.2f} over "
            f"{summary['episodes']} games against the random opponent, both seats (win 1, draw 0, loss -1; "
            f"mean length {summary['mean_length']:.1f} of its own moves)", *games_table(games)]


def games_table(games: dict[str, dict[str, dict[str, float]]]) -> list[str]:
    """:func:`game_results`' table as text: one row per fixed opponent, win / draw / loss rates from each seat."""
    label = {name: f"{name} ({PLAYS.get(name, name)})" for name in games}
    width = max(len(text) for text in label.values())
    seats = ("seat_0", "seat_1")
    head = {"seat_0": "as seat 0 (moves first)", "seat_1": "as seat 1 (moves second)"}
    lines = [f"  win / draw / loss against each fixed opponent (games from each seat: "
             f"{', '.join(sorted({str(int(t[s]['games'])) for t in games.values() for s in seats}))})",
             f"  {'opponent':{width}s}   {head['seat_0']:24s}   {head['seat_1']}"]
    for name, table in games.items():
        cells = [f"{t['win']:4.0%} / {t['draw']:4.0%} / {t['loss']:4.0%}" for t in (table[s] for s in seats)]
        lines.append(f"  {label[name]:{width}s}   {cells[0]:24s}   {cells[1]}")
    return lines
