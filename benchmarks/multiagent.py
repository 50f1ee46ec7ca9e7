#!/usr/bin/env python
"""Benchmark many agents: self-play on two board games, shared and centralised critics, and the bridge's speed.

Four sections, each a function of (budget, seeds):
  * tictactoe: ``--algo selfplay`` on ``pettingzoo.classic.tictactoe_v3`` with the shipped defaults (``symmetric``:
    the policy averaged over the board's 8 symmetries, 300k steps), through ``gymsuite train``'s pipeline, on
    ``--board-seeds`` seeds (the table's seeds and fresh ones), and the previous defaults (the same without
    ``symmetric``, 600k steps) on ``--seeds`` seeds; each model plays 1,000 games from each seat against
    the perfect (minimax) player and 1,000 against a random one (target: zero losses against minimax in every
    seed; a win rate against random beside its exact ceiling, both seats);
  * connect_four: ``--algo selfplay`` on ``pettingzoo.classic.connect_four_v3`` (the shipped defaults, whose
    ``multiagent: {tactics: true}`` narrows the legal moves to those that win now, else to those that block; the same
    without it; the lookahead on a policy trained 2,048 steps only; ``backbone=board_cnn``, and the board CNN with
    ``symmetric=true``, the left-right flip) beside PettingZoo's SB3 tutorial recipe (one MaskablePPO with default
    hyperparameters that plays both seats of the raw AEC env, 20,480 steps), all judged by the same games from both
    seats against random (target: at least 0.95) and against the scripted player (wins, else blocks), and the Elo
    curve of the self-play pool;
  * spread: IPPO (``--algo ppo``) against MAPPO (``--algo mappo``) on ``mpe2.simple_spread_v3`` at one budget,
    mean episode return (the mean over the three agents), with a random policy in the same table;
  * speed: joint env steps/s of gymsuite's bridge (``make_env``, what ``gymsuite train`` builds) against SuperSuit's
    ``pettingzoo_env_to_vec_env_v1`` + ``concat_vec_envs_v1`` on the same env with random actions, measured
    alternately in one process (target: at least equal).
Every learning number is an interquartile mean over seeds with a 95% bootstrap interval (benchmarks/stats.py).

    python -m benchmarks.multiagent              # full run: about 124 min on 2 cores with the board variants by its
                                                 # estimate (108 min measured 2026-12-05, before Connect Four's
                                                 # lookahead rows); about 47 without them (--variants)
    python -m benchmarks.multiagent --sections connect_four --variants "connect_four plain" \
        "connect_four lookahead alone"           # 24.5 min (measured 2026-12-06); replaces that subsection alone
    python -m benchmarks.multiagent --quick      # 1 seed, tiny budgets; writes nothing
"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks import benchlib
from gymsuite.common.stats import iqm, summary

ROOT = Path(__file__).resolve().parent.parent
PLOT = ROOT / "docs" / "benchmark_multiagent.png"
TICTACTOE = "pettingzoo.classic.tictactoe_v3"
CONNECT_FOUR = "pettingzoo.classic.connect_four_v3"
SPREAD = "mpe2.simple_spread_v3"
TUTORIAL_STEPS = 20_480  # the tutorial's own budget ("10k steps: 0.76, 20k steps: 0.86")
FULL = {"seeds": 5, "board_seeds": 10, "games": 1000, "spread_steps": 200_000, "spread_episodes": 100,
        "speed_seconds": 3.0}
QUICK = {"seeds": 1, "board_seeds": 1, "games": 20, "spread_steps": 4_096, "spread_episodes": 5, "speed_seconds": 0.5}
# The board-game variants beside each game's shipped defaults: (variant, hyperparameters, seeds key, steps/s assumed
# by the estimate; an ``n_timesteps`` among the hyperparameters replaces the shipped budget). ``symmetric``: issue 27's
# equivariant policy (tic-tac-toe's shipped default since its 10 seeds lost no game; ``plain`` is the previous
# default); Connect Four's ``tactics`` (its shipped default: the one-move lookahead) off in ``plain``, and on a policy
# that has barely trained in ``lookahead alone``; ``board_cnn``: the CNN for (H, W, C) boards.
BOARD_VARIANTS: dict[str, list[tuple[str, dict[str, Any], str, int]]] = {
    "tictactoe": [("tictactoe", {}, "board_seeds", 1200),
                  ("tictactoe plain", {"symmetric": False, "n_timesteps": 600_000}, "seeds", 2000)],
    "connect_four": [("connect_four", {}, "seeds", 1000),
                     ("connect_four plain", {"multiagent": {"tactics": False}}, "seeds", 1500),
                     ("connect_four lookahead alone", {"n_timesteps": 2_048}, "seeds", 1000),
                     ("connect_four board_cnn", {"backbone": "board_cnn"}, "seeds", 600),
                     ("connect_four board_cnn symmetric", {"backbone": "board_cnn", "symmetric": True}, "seeds", 400)],
}
# What each Connect Four row is, for the table's legend (the rows a run has).
C4_NOTES = {
    "connect_four": "the shipped defaults: `multiagent: {tactics: true}`, the legal moves narrowed to those that win "
                    "now, else to those that block the opponent's win on its next move (`envs/multiagent/rules.py`), "
                    "in training and in play",
    "connect_four plain": "the previous defaults, the same without the lookahead",
    "connect_four lookahead alone": "the shipped defaults trained for 2,048 steps only: what the lookahead does for a "
                                    "policy that has barely learnt",
    "connect_four board_cnn": "the shipped defaults with `backbone=board_cnn` (3x3 convs with padding and no stride, "
                              "then a flatten: `supervised/cnns.py`)",
    "connect_four board_cnn symmetric": "the same with `symmetric=true` too (the left-right flip)",
    "connect_four tutorial": f"PettingZoo's SB3 tutorial recipe (benchmarks/tutorial_recipe.py): one MaskablePPO with "
                             f"default hyperparameters playing both seats of the raw game, {TUTORIAL_STEPS:,} steps on "
                             "one env, as the tutorial does",
}
SPEED_COPIES = 8
C4_OPPONENTS = ["random", "scripted"]  # the target is against random; scripted (wins, else blocks) tells more
# Training steps/s assumed by the time estimate (2 workers on 2 cores); measured by this benchmark.
EXPECTED_FPS = {"selfplay": 1500, "tutorial": 600, "ppo": 3000, "mappo": 2500, "random": 1e9}


def train_job(job: dict[str, Any]) -> dict[str, Any]:
    """Train one gymsuite run through the pipeline, then judge it (games or episode returns)."""
    cli = {"algo": job["algo"], "env": job["env"], "seed": job["seed"], "eval_freq": 0,
           "eval_episodes": job.get("eval_episodes", 10), "checkpoint_freq": 0}
    if job.get("steps"):
        cli["timesteps"] = job["steps"]
    cfg = benchlib.config(cli, job.get("hyperparams", {}))
    run_dir = Path(job["run_dir"])
    trained = benchlib.train(cfg, run_dir)
    out: dict[str, Any] = {"fps": trained.steps / trained.seconds, "seconds": trained.seconds,
                           "steps": trained.steps, "final_return": trained.eval["mean_return"]}
    if job["algo"] == "selfplay":
        out["games"] = judge_run(run_dir, job)
        out["elo"] = read_elo(run_dir)
    else:
        out["per_agent"] = trained.eval.get("per_agent", {})
    shutil.rmtree(run_dir, ignore_errors=True)
    return out


def random_job(job: dict[str, Any]) -> dict[str, Any]:
    """A uniformly random policy's mean episode return on ``job["env"]`` (same evaluation as the trained runs)."""
    from gymsuite.agents.saved.evaluation import evaluate
    from gymsuite.agents.saved.loading import load_agent, make_agent_env

    agent = load_agent("random", env=job["env"])
    venv = make_agent_env(agent, seed=job["seed"] + 10_000, n_envs=5)
    result = evaluate(agent, venv, job["eval_episodes"])
    venv.close()
    return {"fps": 0.0, "seconds": 0.0, "steps": 0, "final_return": result["mean_return"]}


def judge_run(run_dir: Path, job: dict[str, Any]) -> dict[str, Any]:
    """``gymsuite evaluate RUN --episodes GAMES``'s ``games``: win/draw/loss rates from both seats against each fixed
    opponent of the game, restricted to ``job["opponents"]``."""
    from gymsuite.agents.saved.evaluation import evaluate
    from gymsuite.agents.saved.loading import load_agent, make_agent_env

    agent = load_agent(str(run_dir))
    venv = make_agent_env(agent, seed=job["seed"] + 20_000, n_envs=5)
    games = evaluate(agent, venv, job["games"])["games"]
    venv.close()
    return {name: games[name] for name in job["opponents"]}


def read_elo(run_dir: Path) -> list[list[float]]:
    """``[[steps, elo], ...]`` of the run's self-play pool (``elo.csv``), or [] when it has none."""
    path = run_dir / "elo.csv"
    if not path.is_file():
        return []
    rows = [line.split(",") for line in path.read_text().splitlines()[1:] if line.strip()]
    return [[float(r[0]), float(r[1])] for r in rows]


def tutorial_job(job: dict[str, Any]) -> dict[str, Any]:
    """PettingZoo's SB3 tutorial recipe for Connect Four (:mod:`benchmarks.tutorial_recipe`), judged by gymsuite's
    match loop (``gymsuite.agents.multiagent.selfplay.play``, the one behind the Elo ratings) against the same
    opponents."""
    import importlib

    from benchmarks.tutorial_recipe import masked_player, train_recipe
    from gymsuite.agents.multiagent.selfplay import play
    from gymsuite.agents.saved.evaluation import seat_tally
    from gymsuite.envs.multiagent.games import game_of, opponent

    start = time.perf_counter()
    model = train_recipe(job["env"], job["steps"], job["seed"])
    seconds = time.perf_counter() - start
    games = {}
    for name in job["opponents"]:
        rival = opponent(name, game_of(job["env"]), job["seed"] + 20_000)
        outcomes = play(importlib.import_module(job["env"]).env, masked_player(model), rival, job["games"],
                        seed=job["seed"] + 20_000)
        games[name] = {f"seat_{i}": seat_tally(outcomes[i * job["games"]:(i + 1) * job["games"]]) for i in (0, 1)}
    return {"fps": job["steps"] / seconds, "seconds": seconds, "steps": job["steps"], "final_return": 0.0,
            "games": games, "elo": []}


def speed_job(job: dict[str, Any]) -> dict[str, Any]:
    """Joint env steps/s (copies x steps per second) of both bridges, alternately, three rounds each."""
    import torch

    from benchmarks.tutorial_recipe import supersuit_vec
    from gymsuite.envs.factory import make_env

    torch.set_num_threads(1)
    ours = make_env(job["env"], n_envs=SPEED_COPIES, seed=job["seed"])
    theirs = supersuit_vec(job["env"], SPEED_COPIES)
    rates: dict[str, list[float]] = {"gymsuite": [], "supersuit": []}
    for _ in range(3):
        for name, venv in (("gymsuite", ours), ("supersuit", theirs)):
            rates[name].append(_steps_per_second(venv, job["speed_seconds"]) * SPEED_COPIES / venv.num_envs)
    ours.close()
    theirs.close()
    return {"fps": 0.0, "seconds": 0.0, "steps": 0, "final_return": 0.0,
            "speed": {k: float(np.median(v)) for k, v in rates.items()}}


def _steps_per_second(venv: Any, seconds: float) -> float:
    """Vector steps/s x ``num_envs`` (agent steps/s) of ``venv`` under uniformly random actions for ``seconds``."""
    rng = np.random.default_rng(0)
    venv.reset()
    n, start = 0, time.perf_counter()
    actions = rng.integers(0, venv.action_space.n, (1024, venv.num_envs))
    while time.perf_counter() - start < seconds:
        venv.step(actions[n % 1024])
        n += 1
    return n * venv.num_envs / (time.perf_counter() - start)


def run_one(job: dict[str, Any]) -> dict[str, Any]:
    """One job of any kind; its keys plus results, also printed as a JSON line."""
    start = time.perf_counter()
    kind = job["kind"]
    out = {"train": train_job, "random": random_job, "tutorial": tutorial_job, "speed": speed_job}[kind](job)
    return benchlib.job_result(job, out, start)


def make_jobs(sections: list[str], budget: dict[str, Any], seeds: list[int], workdir: Path,
              variants: tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every job of the chosen sections (one per variant and seed); of :data:`BOARD_VARIANTS`, the shipped defaults
    and those named in ``variants``."""
    jobs: list[dict[str, Any]] = []

    def add(kind: str, variant: str, over: list[int] | None = None, **keys: Any) -> None:
        for s in seeds if over is None else over:
            jobs.append({"kind": kind, "variant": variant, "seed": s, "games": budget["games"],
                         "run_dir": str(workdir / f"{variant.replace(' ', '-')}-s{s}"), **keys})

    for game, env, opponents in (("tictactoe", TICTACTOE, ["minimax", "random"]),
                                 ("connect_four", CONNECT_FOUR, C4_OPPONENTS)):
        if game in sections:
            for variant, hyper, key, fps in BOARD_VARIANTS[game]:
                if variant == game or variant in variants:
                    over = seeds if key == "seeds" else list(range(budget[key]))
                    add("train", variant, over, algo="selfplay", env=env, opponents=opponents,
                        steps=int(hyper.get("n_timesteps", 0)),
                        hyperparams={k: v for k, v in hyper.items() if k != "n_timesteps"}, expected_fps=fps)
    if "connect_four" in sections:
        add("tutorial", "connect_four tutorial", algo="tutorial", env=CONNECT_FOUR, opponents=C4_OPPONENTS,
            steps=TUTORIAL_STEPS if budget["games"] >= 100 else 2_048)
    if "spread" in sections:
        for algo in ("ppo", "mappo"):
            add("train", f"spread {algo}", algo=algo, env=SPREAD, steps=budget["spread_steps"],
                eval_episodes=budget["spread_episodes"])
        add("random", "spread random", algo="random", env=SPREAD, steps=0, eval_episodes=budget["spread_episodes"])
    if "speed" in sections:
        jobs.append({"kind": "speed", "variant": "speed", "seed": 0, "env": SPREAD, "algo": "none", "steps": 0,
                     "speed_seconds": budget["speed_seconds"]})
    return jobs


_LINES = ((0, 1, 2), (3, 4, 5), (6, 7, 8), (0, 3, 6), (1, 4, 7), (2, 5, 8), (0, 4, 8), (2, 4, 6))


def tictactoe_ceiling(seat: int, never_losing: bool = False) -> float:
    """The highest win rate any player can have against a uniformly random tic-tac-toe opponent from ``seat``
    (0 moves first), exactly, by expectimax over every position; ``never_losing``: among players that never lose
    against any opponent (who keep the minimax value in every position). Seat 1: 0.939, and 0.916 never losing."""
    from functools import lru_cache

    def won(board: tuple[int, ...], mark: int) -> bool:
        return any(all(board[i] == mark for i in line) for line in _LINES)

    def play(board: tuple[int, ...], cell: int, mark: int) -> tuple[int, ...]:
        return board[:cell] + (mark,) + board[cell + 1:]

    @lru_cache(None)
    def value(board: tuple[int, ...], turn: int) -> int:  # the game's value for the first mover (mark 1)
        if won(board, 1) or won(board, 2):
            return 1 if won(board, 1) else -1
        if 0 not in board:
            return 0
        values = [value(play(board, i, turn), 3 - turn) for i in range(9) if board[i] == 0]
        return max(values) if turn == 1 else min(values)

    me = seat + 1

    @lru_cache(None)
    def win(board: tuple[int, ...], turn: int) -> float:
        if won(board, me):
            return 1.0
        if won(board, 3 - me) or 0 not in board:
            return 0.0
        children = [play(board, i, turn) for i in range(9) if board[i] == 0]
        if turn != me:
            return sum(win(c, 3 - turn) for c in children) / len(children)
        if never_losing:
            values = [value(c, 3 - turn) for c in children]
            best = max(values) if me == 1 else min(values)
            children = [c for c, v in zip(children, values, strict=True) if v == best]
        return max(win(c, 3 - turn) for c in children)

    return win((0,) * 9, 1)


def estimate_minutes(jobs: list[dict[str, Any]], workers: int, default_steps: dict[str, int]) -> float:
    """Wall minutes the jobs should take at :data:`EXPECTED_FPS`, plus about 20 s of judging each."""
    seconds = 0.0
    for j in jobs:
        steps = j.get("steps") or default_steps.get(j["env"], 0)
        seconds += steps / j.get("expected_fps", EXPECTED_FPS.get(j["algo"], 1000)) + 20
    return seconds / max(workers, 1) / 60


def rate(games: dict[str, Any], outcome: str) -> float:
    """The share of ``outcome`` ("win", "draw", "loss") in one seat's tally ``{"win", "draw", "loss", "games"}``."""
    return float(games[outcome])


def count(games: dict[str, Any], outcome: str) -> int:
    """How many games of one seat's tally ended in ``outcome``."""
    return round(games[outcome] * games["games"])


def section_games(results: list[dict[str, Any]], env: str, opponents: list[str]) -> str:
    """Per variant, opponent and seat: win/draw/loss rates (IQM over seeds), losses in all, steps and seconds."""
    rows = []
    for variant in dict.fromkeys(r["variant"] for r in results):
        rs = [r for r in results if r["variant"] == variant]
        for name in opponents:
            judged = [r for r in rs if name in r["games"]]
            if not judged:
                continue
            for seat in ("seat_0", "seat_1"):
                tallies = [r["games"][name][seat] for r in judged]
                rows.append([variant, name, seat.replace("_", " "), summary([rate(t, "win") for t in tallies], 3),
                             summary([rate(t, "draw") for t in tallies], 3),
                             summary([rate(t, "loss") for t in tallies], 3),
                             f"{sum(count(t, 'loss') for t in tallies)} / {sum(t['games'] for t in tallies)}",
                             summary([r["steps"] for r in rs]), summary([r["seconds"] for r in rs], 1)])
    return benchlib.table(["variant", "opponent", "learner's seat", "win rate", "draw rate", "loss rate",
                           "losses / games (all seeds)", "training steps", "training seconds"], rows)


def targets_games(results: list[dict[str, Any]], variant: str, lose_none: str | None, win_against: str,
                  share: float = 0.95) -> list[str]:
    """Whether every seed of ``variant`` met the targets: no loss against ``lose_none``, at least ``share`` wins
    against ``win_against``, both seats."""
    rs = [r for r in results if r["variant"] == variant]
    lines = []
    if lose_none:
        losses = sum(count(r["games"][lose_none][s], "loss") for r in rs for s in ("seat_0", "seat_1"))
        games = sum(r["games"][lose_none][s]["games"] for r in rs for s in ("seat_0", "seat_1"))
        lines.append(f"- Zero losses against {lose_none} from both seats: {'met' if losses == 0 else 'not met'} "
                     f"({losses} losses in {games:,} games over {len(rs)} seeds).")
    worst = min(rate(r["games"][win_against][s], "win") for r in rs for s in ("seat_0", "seat_1"))
    lines.append(f"- Win rate of at least {share:g} against {win_against} from both seats in every seed: "
                 f"{'met' if worst >= share else 'not met'} (lowest seed and seat: {worst:.3f}).")
    if variant.startswith("tictactoe") and win_against == "random":
        for seat in (0, 1):
            best, safe = tictactoe_ceiling(seat), tictactoe_ceiling(seat, never_losing=True)
            got = [rate(r["games"]["random"][f"seat_{seat}"], "win") for r in rs]
            lines.append(f"  - Seat {seat}: no player can win more than {best:.3f} of its games against a random "
                         f"player from this seat, and a player that never loses no more than {safe:.3f} (exact, by "
                         f"expectimax); the IQM here is {summary(got, 3)}, {iqm(got) / safe:.3f} of the never-losing "
                         "ceiling.")
    return lines


SPREAD_LABELS = {"spread ppo": "IPPO (--algo ppo)", "spread mappo": "MAPPO (--algo mappo)",
                 "spread random": "random policy"}


def section_spread(results: list[dict[str, Any]], steps: int, episodes: int) -> str:
    rows = []
    for variant in dict.fromkeys(r["variant"] for r in results):
        rs = [r for r in results if r["variant"] == variant]
        trained = variant != "spread random"
        rows.append([SPREAD_LABELS.get(variant, variant),
                     summary([r["final_return"] for r in rs], 2),
                     summary([r["fps"] for r in rs]) if trained else "-",
                     summary([r["seconds"] for r in rs], 1) if trained else "-"])
    return benchlib.table(["policy", f"mean episode return ({episodes} episodes)", "steps/s", "training seconds"],
                          rows)


def compare_spread(results: list[dict[str, Any]]) -> list[str]:
    """Which intervals are apart: each trained policy against random, and MAPPO against IPPO."""
    from gymsuite.common.stats import iqm_ci

    ci = {v: iqm_ci([r["final_return"] for r in results if r["variant"] == v]) for v in SPREAD_LABELS
          if any(r["variant"] == v for r in results)}

    def against(a: str, b: str) -> str:
        if ci[a][0] > ci[b][1]:
            return "above, the intervals apart"
        if ci[a][1] < ci[b][0]:
            return "below, the intervals apart"
        return "the intervals overlap"

    lines = [f"- {SPREAD_LABELS[v]} against the random policy: {against(v, 'spread random')}."
             for v in ("spread ppo", "spread mappo") if v in ci and "spread random" in ci]
    if "spread ppo" in ci and "spread mappo" in ci:
        lines.append(f"- MAPPO against IPPO: {against('spread mappo', 'spread ppo')}.")
    return lines


def plot_elo(results: list[dict[str, Any]], path: Path) -> bool:
    """The self-play pool's Elo against training steps, one line per seed; False when no run rated its pool."""
    runs = [r for r in results if r.get("elo")]
    if not runs:
        return False
    fig, axes = benchlib.subplots(1, 6, 4)
    for r in runs:
        curve = np.asarray(r["elo"])
        axes[0].plot(curve[:, 0], curve[:, 1], marker=".", label=f"seed {r['seed']}")
    axes[0].set(title=f"self-play pool on {CONNECT_FOUR}", xlabel="training steps", ylabel="Elo (random player = 1000)")
    axes[0].legend(fontsize=7)
    benchlib.save_figure(fig, path)
    return True


SECTIONS = ("tictactoe", "connect_four", "spread", "speed")


def section_speed(result: dict[str, Any]) -> str:
    ours, theirs = result["speed"]["gymsuite"], result["speed"]["supersuit"]
    rows = [["gymsuite (`make_env`: ParallelVecEnv + VecFiniteGuard)", f"{ours:,.0f}", f"{ours / theirs:.2f}x"],
            ["SuperSuit (pettingzoo_env_to_vec_env_v1 + concat_vec_envs_v1)", f"{theirs:,.0f}", "1.00x"]]
    return "\n".join([
        f"### Bridge speed: {SPREAD}, {SPEED_COPIES} copies, random actions", "",
        f"Joint env steps/s (copies x vector steps per second; each joint step moves all three agents), the median of "
        f"three rounds of {result['speed_seconds']:g} s each, the two bridges measured alternately in one process.",
        "", benchlib.table(["bridge", "joint steps/s", "vs SuperSuit"], rows), "",
        f"Target (at least equal): {'met' if ours >= theirs else 'not met'}."])


def build_parts(results: list[dict[str, Any]], sections: list[str], args: argparse.Namespace,
                plot: Path | None) -> dict[str, str]:
    """The markdown of each section run (one ``###`` subsection), by name, in :data:`SECTIONS`' order."""
    by_env = lambda env: [r for r in results if r.get("env") == env and r["kind"] != "speed"]  # noqa: E731
    parts: dict[str, str] = {}
    if "tictactoe" in sections:
        rs = by_env(TICTACTOE)
        text = [f"### Tic-tac-toe: `--algo selfplay` on {TICTACTOE}, shipped defaults", "",
                f"Each trained model plays {args.games:,} games from each seat against each opponent (minimax: "
                "perfect play, choosing at random among equally good moves; random: uniform over legal moves), "
                "deterministic moves. *losses / games* adds up every seed. *tictactoe*: the shipped defaults "
                f"(`symmetric=true`: logits and value averaged over the board's 8 symmetries), {args.board_seeds} "
                f"seeds; *plain*: the previous defaults (the same without `symmetric`, at the steps shown), "
                f"{args.seeds} seeds.", "", section_games(rs, TICTACTOE, ["minimax", "random"])]
        for variant in dict.fromkeys(r["variant"] for r in rs):
            text += ["", f"{variant}:", *targets_games(rs, variant, "minimax", "random")]
        parts["tictactoe"] = "\n".join(text)
    if "connect_four" in sections:
        rs = by_env(CONNECT_FOUR)
        legend = [f"- *{v}*: {C4_NOTES[v]}." for v in dict.fromkeys(r["variant"] for r in rs)]
        text = [f"### Connect Four: `--algo selfplay` on {CONNECT_FOUR} beside PettingZoo's SB3 tutorial recipe", "",
                f"Every row is judged the same way: {args.games:,} games from each seat against a random player and "
                "against the scripted one (it wins if it can, else blocks, else plays at random), deterministic "
                "moves, each agent playing as it was trained (with its lookahead where it has one).", "", *legend, "",
                section_games(rs, CONNECT_FOUR, C4_OPPONENTS)]
        for variant in dict.fromkeys(r["variant"] for r in rs if r["kind"] == "train"):
            text += ["", f"{variant}:", *targets_games(rs, variant, None, "random")]
        if plot is not None and plot_elo([r for r in rs if r["variant"] == "connect_four"], plot):
            text += ["", f"![Elo of the self-play pool]({benchlib.link(plot, benchlib.BENCHMARKS)})"]
        parts["connect_four"] = "\n".join(text)
    if "spread" in sections:
        rs = by_env(SPREAD)
        parts["spread"] = "\n".join([
            f"### Cooperative navigation: IPPO against MAPPO on {SPREAD}, {args.spread_steps:,} agent steps per run",
            "", "IPPO: one policy shared by the three agents, each critic reading its own agent's observation; "
            "MAPPO: the same actor, the critic reading the global state. Return: the mean over agents of an "
            f"episode's return (the env's own reward), averaged over {args.spread_episodes} evaluation episodes "
            "(deterministic actions; the random policy samples uniformly).", "",
            section_spread(rs, args.spread_steps, args.spread_episodes), "", *compare_spread(rs)])
    speed = [r for r in results if r["kind"] == "speed"]
    if "speed" in sections and speed:
        parts["speed"] = section_speed(speed[0])
    return parts


def publish(parts: dict[str, str], args: argparse.Namespace, workers: int, wall: float, write: bool) -> str:
    """Print the sections run and, when ``write``, put them in ``args.benchmarks``: after a run of every section the
    whole multiagent section (each subsection marked ``multiagent-<name>``), else each subsection run in place of its
    earlier one, saying when and how it was measured under its heading. Returns what was printed."""
    run = (f"Machine: {benchlib.machine()}. Wall time {wall / 60:.1f} min with {workers} worker processes (two jobs "
           f"share the 2 cores: compare seconds within a table). {args.seeds} seeds per row. Cells: interquartile mean "
           "over seeds [95% bootstrap interval].")
    if set(parts) == set(SECTIONS):
        text = "\n\n".join([f"## Many agents (`benchmarks/multiagent.py`)\n\n{run}",
                             *(benchlib.marked(f"multiagent-{name}", md) for name, md in parts.items())])
        benchlib.publish("multiagent", text, args.benchmarks, write)
        return text
    return benchlib.publish_alone("multiagent", {f"multiagent-{name}": md for name, md in parts.items()},
                                  lambda name: f"{run} (`--sections {name.removeprefix('multiagent-')}`)",
                                  args.benchmarks, write)


Runner = Callable[[list[dict[str, Any]], int], list[dict[str, Any]]]


def run_all(jobs: list[dict[str, Any]], workers: int) -> list[dict[str, Any]]:
    """:func:`run_one` on ``jobs`` in at most ``workers`` processes (:func:`benchmarks.benchlib.run_jobs`)."""
    return benchlib.run_jobs(run_one, jobs, workers)


def main(argv: list[str] | None = None, run: Runner = run_all) -> str:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sections", nargs="+", choices=SECTIONS, default=list(SECTIONS))
    p.add_argument("--seeds", type=int, help=f"seeds per row (default {FULL['seeds']}; --quick {QUICK['seeds']})")
    p.add_argument("--board-seeds", type=int,
                   help=f"seeds of tic-tac-toe's shipped row (default {FULL['board_seeds']}: the table's and fresh)")
    p.add_argument("--variants", nargs="*", default=[v for vs in BOARD_VARIANTS.values() for v, *_ in vs[1:]],
                   choices=[v for vs in BOARD_VARIANTS.values() for v, *_ in vs[1:]],
                   help="board-game variants beside the shipped defaults (default: all; none: --variants)")
    p.add_argument("--games", type=int, help=f"games per seat and opponent (default {FULL['games']})")
    p.add_argument("--spread-steps", type=int, help=f"agent steps per spread run (default {FULL['spread_steps']:,})")
    p.add_argument("--spread-episodes", type=int, help=f"evaluation episodes (default {FULL['spread_episodes']})")
    p.add_argument("--speed-seconds", type=float, help=f"seconds per speed round (default {FULL['speed_seconds']})")
    benchlib.add_run_options(p, PLOT)
    args = p.parse_args(argv)
    benchlib.fill_budget(args, FULL, QUICK)
    budget = {k: getattr(args, k) for k in FULL}
    seeds = list(range(args.seeds))
    write = not (args.no_write or args.quick)
    workers = min(args.workers, 2)
    start = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="gymsuite-bench-multiagent-") as tmp:
        jobs = make_jobs(args.sections, budget, seeds, Path(tmp), tuple(args.variants))
        if args.quick:  # the board games' budgets would take minutes: a few thousand steps check the path
            for j in jobs:
                if j["kind"] == "train" and j["algo"] == "selfplay":
                    j["steps"] = 2_048
        print(f"estimated wall time: about {estimate_minutes(jobs, workers, default_steps()):.0f} min", flush=True)
        results = run(jobs, workers)
    parts = build_parts(results, args.sections, args, args.plot if write else None)
    return publish(parts, args, workers, time.perf_counter() - start, write)


def default_steps() -> dict[str, int]:
    """The shipped ``n_timesteps`` of ``--algo selfplay`` per game (agents/hyperparams/selfplay.yml)."""
    from gymsuite.agents.run.config import defaults_for

    return {env: int(defaults_for("selfplay", env).get("n_timesteps", 0)) for env in (TICTACTOE, CONNECT_FOUR)}


if __name__ == "__main__":
    main()
    sys.exit(0)
