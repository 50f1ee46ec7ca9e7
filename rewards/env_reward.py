"""The one owner of ``info["env_reward"]``: the environment's own reward, kept beside the one the agent trains on.

Reward wrappers (shaping terms, a learned reward, a curiosity bonus) change the reward the
agent learns from; evaluation and the logs must still speak of the task's own reward. SB3's
``Monitor`` sits inside every reward wrapper, so its episode returns (``info["episode"]["r"]``)
are already the env's own; ``info["env_reward"]`` gives the same per step.

The rule: the **innermost** reward wrapper records the reward it received from the env; every
wrapper outside it leaves the value alone, because the reward it receives was already changed.
So ``info["env_reward"]`` is the env's reward however many reward wrappers are stacked, in
whatever order :func:`gymsuite.agents.run.training._build_env` puts them.

Shapes: N envs.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, SupportsFloat

import numpy as np

ENV_REWARD = "env_reward"  # the info key; user-facing (README, docs), so it never changes


def record_env_reward(info: dict[str, Any], reward: SupportsFloat) -> dict[str, Any]:
    """A copy of one env's ``info`` that holds the env's own reward, unless an inner wrapper recorded it already.

    For a ``gymnasium.Wrapper``'s ``step``: call it with the reward the inner env returned,
    before changing that reward. The copy keeps the inner env's dict untouched, so the
    wrapper can add its own keys to the result.

    Example:
        >>> record_env_reward({}, 1.0)
        {'env_reward': 1.0}
        >>> record_env_reward({"env_reward": 1.0}, 3.5)  # an inner wrapper's value wins
        {'env_reward': 1.0}
    """
    info = dict(info)
    info.setdefault(ENV_REWARD, float(reward))
    return info


def record_env_rewards(infos: Sequence[dict[str, Any]], rewards: np.ndarray) -> None:
    """In place, the vectorised :func:`record_env_reward`: ``infos[i]`` gets ``rewards[i]`` unless it has one.

    For an SB3 ``VecEnvWrapper``'s ``step_wait``, whose ``infos`` list is rebuilt by the
    ``VecEnv`` at every step (so filling it in place is what SB3's own wrappers do).

    Args:
        infos: N info dicts, one per env.
        rewards: ``(N,)`` the rewards the inner ``VecEnv`` returned.

    Raises:
        ValueError: ``len(infos) != N``.
    """
    for info, reward in zip(infos, rewards, strict=True):
        info.setdefault(ENV_REWARD, float(reward))
