"""Self-play for turn-based two-player games: sb3-contrib's MaskablePPO against an opponent pool.

The learner plays one seat of the game (:class:`gymsuite.envs.multiagent.turnbased.SeatEnv`, seats alternating
per episode); at every reset each env copy draws its opponent from

* ``latest``: the policy being trained (the same network, so it improves as the learner does);
* ``past``: a snapshot of the policy, taken every ``snapshot_freq`` steps (uniformly among the last
  ``pool_size``), which keeps the learner from forgetting how to beat older play (a pure "latest"
  self-play can cycle);
* ``random``, ``scripted``, ``minimax`` (:mod:`gymsuite.envs.multiagent.games`): fixed players that cover
  positions self-play rarely reaches, and for tic-tac-toe the perfect player the benchmark measures.

Policy opponents SAMPLE their moves (with the action mask): a greedy snapshot replays the same game
against the same learner moves, a sampled one shows the learner more positions, and stays close to
the distribution it was trained to beat.

Files (``<run>/``): ``pool/<steps>.pt`` each snapshot's policy as a torch state dict (plain tensors,
loaded with ``weights_only=True``); ``elo.csv`` (step, elo): each snapshot's rating
(:mod:`gymsuite.agents.multiagent.elo`) from ``elo_games`` games per seat against the random player (fixed at
1000) and the ``elo_opponents`` most recent earlier snapshots. ``model.zip`` is a plain MaskablePPO zip.

Shapes: obs (O,) = the board planes of the seat to move (float32), mask (A,) bool.
"""

from __future__ import annotations

import copy
import csv
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from gymnasium import spaces
from sb3_contrib import MaskablePPO
from sb3_contrib.common.maskable.buffers import MaskableDictRolloutBuffer, MaskableRolloutBuffer
from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.callbacks import BaseCallback, CallbackList
from stable_baselines3.common.vec_env import VecEnv

from gymsuite.agents.algorithms.spec import TURN_BASED, AlgoSpec, RunSettings, TrainContext
from gymsuite.agents.multiagent import elo
from gymsuite.agents.multiagent.symmetric import SymmetricMaskablePolicy, check_board
from gymsuite.common.datafiles import DamagedFileError, read_table, read_torch
from gymsuite.common.errors import UserError
from gymsuite.common.files import atomic_write, atomic_write_buffered
from gymsuite.common.options import Rule, check_value, option, parse
from gymsuite.envs.multiagent.games import game_of, opponent, opponents_for
from gymsuite.envs.multiagent.rules import MaskRule
from gymsuite.envs.multiagent.turnbased import Opponent, play_game, random_opponent
from gymsuite.envs.target import resolve_env

KINDS = ("latest", "past", "random", "scripted", "minimax")


@dataclass(frozen=True)
class SelfPlayOptions:
    """The ``selfplay: {...}`` hyperparameter: the opponent pool and its ratings."""

    snapshot_freq: int = option(10_000, "env steps between snapshots of the policy (pool and Elo)", Rule(int, low=1))
    pool_size: int = option(10, "past snapshots an episode's opponent is drawn from (the newest)", Rule(int, low=1))
    latest: float = option(0.5, "weight of the current policy as the opponent", Rule(float, low=0.0, finite=True))
    past: float = option(0.2, "weight of a past snapshot", Rule(float, low=0.0, finite=True))
    random: float = option(0.2, "weight of the random player", Rule(float, low=0.0, finite=True))
    scripted: float = option(0.1, "weight of the scripted player (win, else block, else random)",
                             Rule(float, low=0.0, finite=True))
    minimax: float = option(0.0, "weight of the perfect player (tic-tac-toe only)", Rule(float, low=0.0, finite=True))
    elo_games: int = option(20, "games per seat against each rating opponent (0: no Elo)", Rule(int, low=0))
    elo_opponents: int = option(3, "earlier snapshots each new one plays for its rating", Rule(int, low=0))


def options(value: Any, env: str | None = None) -> SelfPlayOptions:
    """The ``selfplay`` hyperparameter, validated (for ``env``'s game when given).

    Raises:
        UserError: an unknown key, a bad value, all weights zero, or an opponent the game has no rules for.
    """
    if value is not None and not isinstance(value, dict):
        raise UserError(f"bad value for 'selfplay': {value!r}", "a mapping, e.g. selfplay={latest: 0.5, random: 0.5}")
    opts = parse(SelfPlayOptions, value or {}, "selfplay option")
    if sum(weights(opts).values()) <= 0:
        raise UserError("every selfplay opponent weight is 0", f"give one of {', '.join(KINDS)} a positive weight")
    if env is not None:
        known = opponents_for(game_of(env))
        for kind in ("scripted", "minimax"):
            if getattr(opts, kind) > 0 and kind not in known:
                raise UserError(f"selfplay {kind} > 0, but {env} has no {kind} player",
                                f"set selfplay={{{kind}: 0}} (its players: {', '.join(known)})")
    return opts


def weights(opts: SelfPlayOptions) -> dict[str, float]:
    return {kind: float(getattr(opts, kind)) for kind in KINDS}


def policy_opponent(policy: MaskableActorCriticPolicy, deterministic: bool = False,
                    mask_rule: MaskRule | None = None) -> Opponent:
    """``policy`` as an opponent: a move sampled (or the greedy one) under the action mask, narrowed by
    ``mask_rule`` as the policy's training narrowed it (``multiagent: {tactics: true}``; None: the legal moves)."""

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        if mask_rule is not None:
            mask = mask_rule(obs, mask)
        action, _ = policy.predict(obs.astype(np.float32)[None], deterministic=deterministic, action_masks=mask[None])
        return int(np.asarray(action).reshape(-1)[0])

    return act


class OpponentPool:
    """Snapshots of the learner's policy, the draw of each episode's opponent, and their Elo ratings.

    Args:
        model: the MaskablePPO being trained.
        folder: where snapshots go (``<run>/pool``).
        opts: the pool's options.
        game: the :data:`gymsuite.envs.multiagent.games.GAMES` key of the game (None: no rules known).
        make_aec: the game's AEC factory (for the rating games).
        seed: seeds the rating games.
        mask_rule: how the learner's moves are narrowed in training (``multiagent: {tactics: true}``): its
            snapshots play under the same rule, as opponents and in the rating games.
    """

    def __init__(self, model: MaskablePPO, folder: Path, opts: SelfPlayOptions, game: str | None,
                 make_aec: Any, seed: int = 0, mask_rule: MaskRule | None = None) -> None:
        self.model, self.folder, self.opts, self.game, self.make_aec = model, folder, opts, game, make_aec
        self.mask_rule = mask_rule
        self.snapshots: list[tuple[int, MaskableActorCriticPolicy]] = []
        self.ratings: dict[int, float] = {}
        self.seed = seed
        w = weights(opts)
        self._kinds, self._p = list(w), np.array(list(w.values())) / sum(w.values())

    def draw(self, rng: np.random.Generator) -> Opponent:
        """The opponent of a new episode (an :data:`gymsuite.envs.multiagent.turnbased.OpponentDraw`)."""
        kind = self._kinds[int(rng.choice(len(self._kinds), p=self._p))]
        if kind == "past" and self.snapshots:
            recent = self.snapshots[-self.opts.pool_size:]
            return policy_opponent(recent[int(rng.integers(len(recent)))][1], mask_rule=self.mask_rule)
        if kind in ("latest", "past"):
            return policy_opponent(self.model.policy, mask_rule=self.mask_rule)
        return opponent(kind, self.game, int(rng.integers(2**31)))

    def snapshot(self, steps: int) -> Path:
        """Save the current policy as ``<steps>.pt``, add it to the pool and rate it (``elo.csv``)."""
        path = self.folder / f"{steps}.pt"
        atomic_write_buffered(path, lambda f: torch.save(self.model.policy.state_dict(), f))
        self.snapshots = [(s, p) for s, p in self.snapshots if s != steps] + [(steps, self.load(path))]
        if self.opts.elo_games > 0:
            self.ratings[steps] = self.rate(self.snapshots[-1][1])
            atomic_write(self.folder.parent / "elo.csv", self._write_ratings)
        return path

    def _write_ratings(self, path: Path) -> None:
        """``elo.csv``: one row per rated snapshot, by step (a resume that rates a step again replaces its row)."""
        with path.open("w", newline="") as file:
            writer = csv.writer(file)
            writer.writerow(["step", "elo"])
            writer.writerows([steps, round(rating, 1)] for steps, rating in sorted(self.ratings.items()))

    def load(self, path: Path) -> MaskableActorCriticPolicy:
        """A snapshot file as a policy (a copy of the learner's network with the file's weights).

        Raises:
            DamagedFileError: truncated, garbage, a pickled object, or weights of another network.
        """
        what = "a snapshot of this run's policy"
        fix = f"delete it (the pool keeps its other snapshots in {self.folder})"
        weights = read_torch(path, what, fix)
        policy = copy.deepcopy(self.model.policy)
        try:
            policy.load_state_dict(weights)
        except (RuntimeError, TypeError, AttributeError, KeyError) as err:  # other shapes or keys, not a mapping
            raise DamagedFileError(path, what, f"its weights do not fit the policy ({str(err).splitlines()[0]})",
                                   fix) from err
        policy.set_training_mode(False)
        return policy

    def restore(self, upto: int) -> None:
        """Take back the snapshots of an earlier part of this run (a resume), with their ratings.

        Raises:
            DamagedFileError: a snapshot or ``elo.csv`` that cannot be read (the file named).
        """
        files = sorted((int(p.stem), p) for p in self.folder.glob("*.pt") if p.stem.isdigit() and int(p.stem) <= upto)
        self.snapshots = [(steps, self.load(path)) for steps, path in files]
        table = self.folder.parent / "elo.csv"
        if table.is_file():
            rows = read_table(table, "a table of Elo ratings (step, elo)", {"step": int, "elo": float},
                              "delete it: the snapshots taken from now on are rated again, against the random player")
            self.ratings = {row["step"]: row["elo"] for row in rows}

    def rate(self, policy: MaskableActorCriticPolicy) -> float:
        """``policy``'s Elo from games against the random player and the newest earlier snapshots."""
        rivals: list[tuple[float, Opponent]] = [(elo.ANCHOR, random_opponent(np.random.default_rng(self.seed)))]
        earlier = [(s, p) for s, p in self.snapshots[:-1] if s in self.ratings][-self.opts.elo_opponents:]
        rivals += [(self.ratings[s], policy_opponent(p, mask_rule=self.mask_rule)) for s, p in earlier
                   ] if self.opts.elo_opponents else []
        ratings, scores, games = [], [], []
        for rating, rival in rivals:
            outcomes = play(self.make_aec, policy_opponent(policy, mask_rule=self.mask_rule), rival,
                            self.opts.elo_games, self.seed)
            ratings.append(rating)
            scores.append(float(np.sum((outcomes + 1) / 2)))
            games.append(len(outcomes))
        return elo.performance(ratings, scores, games)


def play(make_aec: Any, first: Opponent, second: Opponent, games: int, seed: int = 0) -> np.ndarray:
    """Outcomes (2 * games,) for ``first`` (1 win, 0 draw, -1 loss): ``games`` from each seat against ``second``
    (:func:`gymsuite.envs.multiagent.turnbased.play_game`; game g from seat s is seeded ``seed + s * games + g``)."""
    env = make_aec()
    outcomes = []
    for seat in (0, 1):
        players = [first, second] if seat == 0 else [second, first]
        outcomes += [play_game(env, players, seed=seed + seat * games + g).outcome(seat) for g in range(games)]
    env.close()
    return np.array(outcomes, dtype=float)


class PoolCallback(BaseCallback):
    """Takes a snapshot every ``snapshot_freq`` env steps (and one at the start of a fresh run)."""

    def __init__(self, pool: OpponentPool) -> None:
        super().__init__()
        self.pool = pool
        self._next = 0

    def _on_training_start(self) -> None:
        if not self.pool.snapshots:
            self.pool.snapshot(self.model.num_timesteps)
        self._next = self.pool.snapshots[-1][0] + self.pool.opts.snapshot_freq

    def _on_step(self) -> bool:
        if self.model.num_timesteps >= self._next:
            self.pool.snapshot(self.model.num_timesteps)
            self._next = self.model.num_timesteps + self.pool.opts.snapshot_freq
            if self.pool.ratings:
                self.logger.record("selfplay/elo", self.pool.ratings[max(self.pool.ratings)])
        return True


def learn(model: BaseAlgorithm, total_timesteps: int, callback: BaseCallback, ctx: TrainContext) -> BaseAlgorithm:
    """Train ``model`` (MaskablePPO) against the opponent pool; see the module docstring."""
    assert isinstance(model, MaskablePPO)
    env = str(ctx.cfg.env)
    make_aec = resolve_env(env).game
    opts = options(ctx.cfg.hyperparams.get("selfplay"), env)
    pool = OpponentPool(model, ctx.run.root / "pool", opts, game_of(env), make_aec, ctx.cfg.seed,
                        ctx.venv.get_attr("mask_rule", [0])[0])  # the training env's rule (envs.multiagent.build)
    pool.restore(model.num_timesteps)
    ctx.venv.env_method("set_opponent_draw", pool.draw)
    log_interval = max(1, 2048 // (model.n_steps * model.n_envs))  # as training's model.learn: every ~2048 steps
    model.learn(total_timesteps, callback=CallbackList([callback, PoolCallback(pool)]),
                reset_num_timesteps=model.num_timesteps == 0, log_interval=log_interval)
    return model


def symmetric(hyper: dict[str, Any]) -> bool:
    """The ``symmetric`` hyperparameter (default false): the policy averages over the board's symmetries
    (:class:`gymsuite.agents.multiagent.symmetric.SymmetricMaskablePolicy`).

    Raises:
        UserError: a value that is not a bool.
    """
    return bool(check_value("symmetric", hyper.get("symmetric", False), Rule(bool), "hyperparameter 'symmetric'"))


def _build(policy: str, env: Any, kwargs: dict[str, Any]) -> BaseAlgorithm:
    kwargs = dict(kwargs)
    if symmetric(kwargs):
        if policy != "MlpPolicy":
            raise UserError(f"symmetric=true builds its own policy (MlpPolicy's network averaged over the board's "
                            f"symmetries), and this run names policy={policy}",
                            "drop policy (a backbone goes in backbone=NAME, e.g. backbone=board_cnn), or set "
                            "symmetric=false (tic-tac-toe's defaults set it true)")
        kwargs.pop("symmetric")
        return MaskablePPO(SymmetricMaskablePolicy, env, **kwargs)
    kwargs.pop("symmetric", None)
    return MaskablePPO(policy, env, **kwargs)


#: The registry entry (agents/algorithms/registry.py).
def _check(run: RunSettings) -> None:
    """The ``selfplay`` options fit the game; ``symmetric`` is a bool, and not beside ``normalize``."""
    options(run.hyperparams.get("selfplay"), str(run.env))
    if symmetric(run.hyperparams) and run.hyperparams.get("normalize"):
        raise UserError("symmetric=true with normalize: the normaliser's per-cell statistics are not symmetric, so "
                        "the averaged policy would only roughly follow the board's turns",
                        "drop normalize (a board's cells are 0 or 1 already), or set symmetric=false (tic-tac-toe's "
                        "defaults set it true)")


def _check_built(run: RunSettings, venv: VecEnv) -> None:
    """With ``symmetric=true``, the game's board has symmetries that map actions to actions."""
    if symmetric(run.hyperparams):
        check_board(venv.observation_space, venv.action_space)


SPECS: tuple[AlgoSpec, ...] = (
    AlgoSpec("selfplay", MaskablePPO, (spaces.Discrete,),
             "Self-play for turn-based two-player games: MaskablePPO against a pool of its snapshots (sb3-contrib)",
             build=_build, learn=learn, env_kinds=frozenset({TURN_BASED}), zip_classes=("MaskablePPO",),
             saved_classes=(MaskableRolloutBuffer, MaskableDictRolloutBuffer, SymmetricMaskablePolicy),
             run_keys=frozenset({"selfplay"}), extra_keys=frozenset({"symmetric"}), check=_check,
             check_built=_check_built),
)

