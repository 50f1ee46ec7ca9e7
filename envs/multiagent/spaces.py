"""The one observation and action space that every slot of :class:`gymsuite.envs.multiagent.ParallelVecEnv` shares.

Dimension letters: G agents, O an agent's observation shape (after padding, resizing and the one-hot),
D the raw 1-D observation length, S the state length, A the number of discrete actions.

One policy serves every agent (parameter sharing), so all agents must observe and act in the same spaces;
``pad`` zero-pads 1-D Box observations of different lengths to the longest (SuperSuit's ``pad_observations``
idea, done in place in the bridge's buffer). Observations ``Dict({"observation", "action_mask"})`` (the
PettingZoo convention for legal moves) give the ``observation`` part to the policy and the mask to
``action_masks()``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from gymnasium import spaces

from gymsuite.common.errors import UserError
from gymsuite.envs.multiagent.options import MultiAgentOptions
from gymsuite.envs.trainable import UNTRAINABLE_FIX, untrainable_parts
from gymsuite.envs.wrappers.pixels import resize_frame

_ARRAY = (spaces.Box, spaces.Discrete, spaces.MultiDiscrete, spaces.MultiBinary)


@dataclass(frozen=True)
class SlotSpaces:
    """The spaces of a slot and how the bridge fills its ``(N, *O)`` and ``(N, S)`` buffers.

    Attributes:
        observation_space: what SB3 sees (``Box`` ``(*O,)``, or ``Dict({"obs", "state"})``).
        action_space: the agents' shared action space.
        obs_shape, obs_dtype: O and the buffer's dtype.
        flat: observations are 1-D (written flattened, padded, one-hot appended).
        widths: each agent's raw length along the first axis (D for flat observations).
        obs_width: the longest raw width (the observation without the one-hot).
        transform: applied to each raw observation first (resize / grey), or None.
        state_shape, state_dtype, state_width, state_flat: the state buffer (None: no state).
        env_state: the state is ``env.state()`` (else the concatenation of the agents' observations).
        n_mask: the mask length A when observations carry ``action_mask`` or may (None: no masks).
        n_actions: the number of discrete actions (None for other action spaces).
    """

    observation_space: spaces.Space
    action_space: spaces.Space
    obs_shape: tuple[int, ...]
    obs_dtype: Any
    flat: bool
    widths: tuple[int, ...]
    obs_width: int
    transform: Callable[[np.ndarray], np.ndarray] | None
    state_shape: tuple[int, ...] | None
    state_dtype: Any
    state_width: int
    state_flat: bool
    env_state: bool
    n_mask: int | None
    n_actions: int | None


def slot_spaces(env: Any, agents: list[str], options: MultiAgentOptions, name: str) -> SlotSpaces:
    """The shared spaces of ``env``'s agents under ``options``.

    Raises:
        UserError: agents with different observation or action spaces (naming them, with the fix), spaces
            SB3 cannot hold, ``agent_id`` on image observations, ``resize`` on non-image observations.
    """
    raw = [env.observation_space(a) for a in agents]
    masked = [isinstance(s, spaces.Dict) and "action_mask" in s.spaces for s in raw]
    inner = [s["observation"] if m else s for s, m in zip(raw, masked, strict=True)]
    for agent, space in zip(agents, inner, strict=True):
        parts = untrainable_parts(space)
        if parts or not isinstance(space, _ARRAY):
            raise UserError(f"{name}: agent {agent}'s observation space {space} cannot be trained on "
                            f"({'; '.join(parts) or 'a ' + type(space).__name__ + ' of several arrays'})",
                            UNTRAINABLE_FIX)
    action = _shared_action_space(env, agents, name)
    transform, inner = _resized(inner, options, name)
    base = _shared_obs_space(inner, agents, options.pad, name)
    flat = len(base.shape or ()) == 1
    widths = tuple(int(s.shape[0]) if s.shape else 1 for s in inner)
    obs_space = _with_agent_id(base, len(agents), options.agent_id, name, "observations")
    state_space, env_state = (None, False) if not options.state else _state_space(env, base, len(agents), options)
    observation_space: spaces.Space = obs_space if state_space is None else \
        spaces.Dict({"obs": obs_space, "state": state_space})
    n_actions = int(action.n) if isinstance(action, spaces.Discrete) else None
    if isinstance(action, spaces.MultiDiscrete):
        n_actions = int(np.sum(action.nvec))
    return SlotSpaces(
        observation_space, action, tuple(obs_space.shape or ()), obs_space.dtype, flat, widths,
        int(base.shape[0]) if base.shape else 1, transform,
        None if state_space is None else tuple(state_space.shape or ()),
        None if state_space is None else state_space.dtype,
        0 if state_space is None else _raw_width(state_space, len(agents), options.agent_id),
        state_space is not None and len(state_space.shape or ()) == 1, env_state,
        n_actions if any(masked) or n_actions is not None else None, n_actions)


def _shared_action_space(env: Any, agents: list[str], name: str) -> spaces.Space:
    acts = [env.action_space(a) for a in agents]
    if any(a != acts[0] for a in acts):
        raise UserError(f"{name}: agents have different action spaces ({_differ(agents, acts)}), so one shared "
                        "policy cannot act for all of them",
                        "give every agent the same action space (e.g. SuperSuit's pad_action_space_v0 in a "
                        "file.py:function that returns the wrapped env)")
    if not isinstance(acts[0], spaces.Box | spaces.Discrete | spaces.MultiDiscrete | spaces.MultiBinary):
        raise UserError(f"{name}: the action space {acts[0]} is not one SB3 can act in",
                        "use Box, Discrete, MultiDiscrete or MultiBinary actions")
    return acts[0]


def _shared_obs_space(inner: list[spaces.Space], agents: list[str], pad: bool, name: str) -> spaces.Space:
    """The one observation space of all agents (``pad``: the longest of 1-D Boxes, zero-padded)."""
    if all(s == inner[0] for s in inner):
        return inner[0]
    one_d = all(isinstance(s, spaces.Box) and len(s.shape) == 1 for s in inner)
    if not (pad and one_d):
        fix = ("pass --hyperparams multiagent={pad: true} (1-D observations are zero-padded to the longest)"
               if one_d else "give every agent the same observation space (wrap the env in a file.py:function, "
                             "e.g. with SuperSuit's resize or pad wrappers)")
        raise UserError(f"{name}: agents have different observation spaces ({_differ(agents, inner)}), "
                        "so one shared policy cannot read them all", fix)
    boxes: list[spaces.Box] = [s for s in inner if isinstance(s, spaces.Box)]
    width = max(b.shape[0] for b in boxes)
    dtype = np.result_type(*[b.dtype for b in boxes])
    low, high = np.zeros(width, dtype), np.zeros(width, dtype)
    for b in boxes:  # the padded Box holds every agent's values, and the zeros of the padding
        low[:b.shape[0]] = np.minimum(low[:b.shape[0]], b.low)
        high[:b.shape[0]] = np.maximum(high[:b.shape[0]], b.high)
    return spaces.Box(low, high, (width,), dtype)


def _differ(agents: list[str], items: list[spaces.Space]) -> str:
    """``"agent_0, agent_1: Box(18,); adversary_0: Box(8,)"``: the agents grouped by space."""
    groups: dict[str, list[str]] = {}
    for agent, space in zip(agents, items, strict=True):
        key = f"{type(space).__name__}{space.shape}" if isinstance(space, spaces.Box) else str(space)
        groups.setdefault(key, []).append(agent)
    return "; ".join(f"{', '.join(names)}: {key}" for key, names in groups.items())


def _resized(inner: list[spaces.Space], options: MultiAgentOptions,
             name: str) -> tuple[Callable[[np.ndarray], np.ndarray] | None, list[spaces.Space]]:
    """``resize``/``grey`` for image observations ``(H, W, 3)`` uint8: the transform and the new spaces."""
    if options.resize is None and not options.grey:
        return None, inner
    if not all(isinstance(s, spaces.Box) and len(s.shape) == 3 and s.shape[2] == 3 for s in inner):
        raise UserError(f"{name}: multiagent resize/grey apply to (H, W, 3) image observations, "
                        f"not {inner[0]}", "drop resize and grey")
    h, w = options.resize if options.resize is not None else tuple(inner[0].shape or (0, 0))[:2]
    grey = options.grey
    box = spaces.Box(0, 255, (h, w, 1 if grey else 3), np.uint8)
    return (lambda frame: resize_frame(frame, h, w, grey)), [box for _ in inner]


def _with_agent_id(space: spaces.Space, n_agents: int, agent_id: bool, name: str, what: str) -> spaces.Box:
    """``space`` with ``n_agents`` one-hot entries appended (agent_id), as a Box."""
    if not isinstance(space, spaces.Box):
        if agent_id:
            raise UserError(f"{name}: agent_id appends a one-hot to Box {what}, not to {space}", "drop agent_id")
        return space  # type: ignore[return-value]  # Discrete & co are arrays too; SB3 takes them as they are
    if not agent_id:
        return space
    if len(space.shape) != 1:
        raise UserError(f"{name}: agent_id appends a one-hot to 1-D {what}; these have shape {space.shape}",
                        "drop agent_id (an image's agent is told apart by what it sees)")
    zeros, ones = np.zeros(n_agents, space.dtype), np.ones(n_agents, space.dtype)
    return spaces.Box(np.concatenate([space.low, zeros]), np.concatenate([space.high, ones]),
                      (space.shape[0] + n_agents,), space.dtype)


def _state_space(env: Any, base: spaces.Space, n_agents: int, options: MultiAgentOptions) -> tuple[spaces.Box, bool]:
    """The state's space and whether it is ``env.state()`` (else the agents' observations, concatenated)."""
    try:
        declared = env.state_space
    except (AttributeError, NotImplementedError):
        declared = None
    if isinstance(declared, spaces.Box):
        return _with_agent_id(declared, n_agents, options.agent_id, "the env", "states"), True
    size = n_agents * int(np.prod(base.shape or (1,)))
    concat = spaces.Box(-np.inf, np.inf, (size,), np.float32)
    return _with_agent_id(concat, n_agents, options.agent_id, "the env", "states"), False


def _raw_width(space: spaces.Space, n_agents: int, agent_id: bool) -> int:
    """The state's width along its first axis without the one-hot."""
    width = int(space.shape[0]) if space.shape else 1
    return width - n_agents if agent_id and len(space.shape or ()) == 1 else width
