"""Env wrappers grouped by what they change (reward wrappers live in :mod:`rewards`).

* :mod:`envs.wrappers.guards`: stop at the first broken step (:class:`VecFiniteGuard`).
* :mod:`envs.wrappers.episodes`: where episodes start and how they end
  (:class:`PerturbedStart`, :class:`AbsorbAfterTermination`, :class:`EpisodeCap`).
* :mod:`envs.wrappers.pixels` and :mod:`envs.wrappers.masking`: what the agent sees (rendered frames;
  classic-control observations without their velocities), chosen by :mod:`envs.observation`.

The order around each env is decided in one place, :func:`envs.factory.make_env`.
"""

from envs.wrappers.episodes import AbsorbAfterTermination, EpisodeCap, PerturbedStart, has_time_limit
from envs.wrappers.guards import VecFiniteGuard

__all__ = ["AbsorbAfterTermination", "EpisodeCap", "PerturbedStart", "VecFiniteGuard", "has_time_limit"]
