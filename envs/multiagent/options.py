"""The ``multiagent`` run hyperparameter: how each agent's slot of :class:`gymsuite.envs.multiagent.ParallelVecEnv` sees
the env (validated with :mod:`gymsuite.common.options`: an unknown key is named with the closest valid one)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gymsuite.common.errors import UserError
from gymsuite.common.options import Rule, option, parse


@dataclass(frozen=True)
class MultiAgentOptions:
    """The ``multiagent`` hyperparameter: how each agent's slot sees the env."""

    agent_id: bool = option(False, "append a one-hot of the agent's index to its observation (and the state)",
                            Rule(bool))
    state: bool = option(False, "observations become {obs, state}: the env's global state for a centralised critic",
                         Rule(bool))
    pad: bool = option(False, "zero-pad 1-D observations of different lengths to the longest", Rule(bool))
    resize: list[int] | None = option(None, "[height, width] to shrink image observations to (e.g. [84, 84])")
    grey: bool = option(False, "convert image observations to one grey channel", Rule(bool))
    tactics: bool = option(False, "turn-based board games: the learner's legal moves narrowed to those that win now, "
                           "else to those that block the opponent's win on its next move", Rule(bool))


def multiagent_options(value: Any) -> MultiAgentOptions:
    """The :class:`MultiAgentOptions` of a ``multiagent`` value (null, or a mapping), validated.

    Raises:
        UserError: not a mapping, an unknown key (with the closest name), or a bad value.
    """
    if value is None or value is False or value is True:  # true: the defaults
        return MultiAgentOptions()
    if isinstance(value, MultiAgentOptions):
        return value
    if not isinstance(value, dict):
        raise UserError(f"bad value for 'multiagent': {value!r}",
                        "multiagent must be a mapping, e.g. {agent_id: true, state: false, pad: false}")
    opts = parse(MultiAgentOptions, value, "multiagent option")
    size = opts.resize
    if size is not None and not (isinstance(size, list | tuple) and len(size) == 2
                                 and all(Rule(int, low=8, high=1024).accepts(v) for v in size)):
        raise UserError(f"bad value for multiagent option 'resize': {size!r}",
                        "resize must be [height, width], integers in [8, 1024]")
    return MultiAgentOptions(opts.agent_id, opts.state, opts.pad, None if size is None else [int(v) for v in size],
                             opts.grey, opts.tactics)
