"""Building a multi-agent spec's vectorised env: the branch of :func:`gymsuite.envs.factory.make_env` for PettingZoo
envs.

A parallel env (or an AEC env that declares ``is_parallelizable``) becomes a guarded, seeded
:class:`~gymsuite.envs.multiagent.bridge.ParallelVecEnv` of ``n_envs`` copies (N = n_envs x G slots); a turn-based
game becomes ``gymsuite.envs.multiagent.turnbased.make_seat_vec`` (one seat of the game per copy).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from stable_baselines3.common.vec_env import VecEnv

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.bridge import make_parallel_vec_env
from gymsuite.envs.multiagent.options import MultiAgentOptions
from gymsuite.envs.multiagent.rules import MaskRule, tactics_for
from gymsuite.envs.multiagent.source import MultiAgentSource
from gymsuite.envs.multiagent.turnbased import make_seat_vec
from gymsuite.envs.wrappers import VecFiniteGuard


def make_multiagent_vec(source: MultiAgentSource, n_envs: int, seed: int | None, env_kwargs: dict[str, Any] | None,
                        render_mode: str | None, max_episode_steps: int | None, options: MultiAgentOptions,
                        single_agent_options: Sequence[str] = (), wrappers: Sequence[Any] = (),
                        reward_wrappers: Sequence[Any] = ()) -> VecEnv:
    """The VecEnv of ``n_envs`` copies of ``source``, seeded (copy c: ``seed + c``).

    Raises:
        UserError: gymnasium wrappers, reward wrappers or single-agent observation options for a PettingZoo env;
            a bad ``multiagent`` option; a turn-based game before its seat env exists.
    """
    name = source.name
    if source.turn_based:  # a two-player game: the learner plays one seat against an opponent inside the env
        if reward_wrappers:
            raise UserError(f"{name} is a turn-based game: reward shaping applies to single-agent envs only",
                            "drop the reward shaping / curiosity options for this env")
        return make_seat_vec(source, n_envs, seed, env_kwargs, render_mode, wrappers=wrappers,
                             mask_rule=board_tactics(name) if options.tactics else None)
    if options.tactics:
        raise UserError(f"multiagent tactics is for turn-based board games, and {name} is a parallel env",
                        "drop tactics (it fits pettingzoo.classic.tictactoe_v3 and connect_four_v3)")
    if wrappers or reward_wrappers:
        raise UserError(f"{name} is a multi-agent env: gymnasium wrappers and reward shaping apply to single-agent "
                        "envs only", "drop the reward shaping options for this env")
    if single_agent_options:  # observation options of single-agent envs (gymsuite.envs.observation)
        raise UserError(f"{', '.join(single_agent_options)} set for the multi-agent env {name}: those options are for "
                        "single-agent envs", "drop them; multiagent={resize: [84, 84], grey: true} shrinks images")

    def make() -> Any:
        return source.make_parallel(render_mode=render_mode, **(env_kwargs or {}))

    return VecFiniteGuard(make_parallel_vec_env(make, n_envs, options, name, seed, max_episode_steps), name)


def board_tactics(name: str) -> MaskRule:
    """The one-move lookahead of ``multiagent: {tactics: true}`` for the game ``name``.

    Raises:
        UserError: a game gymsuite has no rules for.
    """
    rule = tactics_for(name)
    if rule is None:
        raise UserError(f"multiagent tactics needs the game's rules, and gymsuite has none for {name}",
                        "drop tactics (it fits pettingzoo.classic.tictactoe_v3 and connect_four_v3)")
    return rule
