"""What a run's agent observes: the env's observation options, plus the history a window backbone reads.

The one place that decides it for every env an agent acts in (training, evaluation, recording, demonstrations,
probes). It needs both the envs' options (``gymsuite.envs.observation``) and the memory backbones'
context (``gymsuite.supervised.memory``), which sit side by side below, so it lives here, under the parts of
agents that build envs (the run pipeline and the loading of saved agents).
"""

from __future__ import annotations

from typing import Any

from gymsuite.common.errors import UserError
from gymsuite.envs.observation import observation_options
from gymsuite.supervised.memory import context_of


def memory_observation(hyper: dict[str, Any] | None) -> dict[str, Any]:
    """The observation options a run's env is built with (training, evaluation, recording, demos, probes):
    :func:`gymsuite.envs.observation.observation_options`, plus ``history = context`` for a window backbone.

    A ``history`` the user set that differs from the backbone's context is a :class:`UserError`.
    """
    options = observation_options(hyper)
    context = context_of((hyper or {}).get("backbone"), (hyper or {}).get("backbone_kwargs"))
    if context is None:
        return options
    history = options.get("history")
    if history is not None and history != context:
        raise UserError(f"history={history} but the {(hyper or {}).get('backbone')} backbone's context is {context}: "
                        "history and context differ", "leave history unset (the backbone sets it from its context)")
    return {**options, "history": context}
