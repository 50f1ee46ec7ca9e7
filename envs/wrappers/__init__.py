"""Env wrappers grouped by what they change (reward wrappers live in :mod:`rewards`).

* :mod:`gymsuite.envs.wrappers.guards`: stop at the first broken step (:class:`VecFiniteGuard`).
* :mod:`gymsuite.envs.wrappers.episodes`: where episodes start and how they end
  (:class:`PerturbedStart`, :class:`AbsorbAfterTermination`, :class:`EpisodeCap`).
* :mod:`gymsuite.envs.wrappers.normalize`: ``VecNormalize`` learning its statistics from active slots only
  (:class:`ActiveVecNormalize`).
* :mod:`gymsuite.envs.wrappers.pixels` and :mod:`gymsuite.envs.wrappers.masking`: what the agent sees (rendered frames;
  classic-control observations without their velocities), chosen by :mod:`gymsuite.envs.observation`.

The order around each env is decided in one place, :func:`gymsuite.envs.factory.make_env`.
"""

from gymsuite.envs.wrappers.episodes import (
    DEFAULT_EPISODE_CAP,
    AbsorbAfterTermination,
    EpisodeCap,
    PerturbedStart,
    episode_cap,
    has_time_limit,
)
from gymsuite.envs.wrappers.guards import VecFiniteGuard
from gymsuite.envs.wrappers.normalize import ActiveVecNormalize

__all__ = ["DEFAULT_EPISODE_CAP", "AbsorbAfterTermination", "ActiveVecNormalize", "EpisodeCap", "PerturbedStart",
           "VecFiniteGuard", "episode_cap", "has_time_limit"]
