"""What a run's agent observes: the env's options, plus the history a window backbone reads.

The one place that decides it for every env an agent acts in (training, evaluation, recording, demonstrations,
probes). It needs both the envs' options (``gymsuite.envs.observation``) and the memory backbones'
context (``gymsuite.supervised.memory``), which sit side by side below, so it lives here, under the parts of
agents that build envs (the run pipeline and the loading of saved agents).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from gymsuite.common.errors import UserError
from gymsuite.envs.observation import EnvOptions
from gymsuite.supervised.memory import context_of


def env_options(hyper: Mapping[str, Any] | None, spec: Any = None) -> EnvOptions:
    """The options a run's env is built with (training, evaluation, recording, demos, probes), parsed once:
    :meth:`gymsuite.envs.observation.EnvOptions.parse` of ``hyper``, with ``history = context`` for a window
    backbone. ``spec`` (the run's env) lets the options that depend on it be checked here.

    Raises:
        UserError: a bad option, or a ``history`` the user set that differs from the backbone's context.
    """
    hyper = hyper or {}
    options = EnvOptions.parse(hyper, spec)
    context = context_of(hyper.get("backbone"), hyper.get("backbone_kwargs"))
    if context is None:
        return options
    if options.history is not None and options.history != context:
        raise UserError(f"history={options.history} but the {hyper.get('backbone')} backbone's context is {context}: "
                        "history and context differ", "leave history unset (the backbone sets it from its context)")
    return dataclasses.replace(options, history=context)
