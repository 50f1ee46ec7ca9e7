"""gymsuite: train, evaluate and record agents on any Gymnasium or PettingZoo environment, in a few lines.

    import gymsuite
    run = gymsuite.train("ppo", "CartPole-v1", timesteps=50_000, run_dir="runs/cp")
    agent = gymsuite.load("runs/cp")
    action = agent.act(observation)
    gymsuite.evaluate("runs/cp", episodes=10)["mean_return"]

Importing gymsuite registers its example environments under the ``gymsuite/`` namespace
(``gym.make("gymsuite/CartPoleNoVel-v0")``), as ``import ale_py`` and ``import minigrid`` do. The API's
functions (:mod:`gymsuite.api`) load torch and stable-baselines3 on first use, so ``import gymsuite`` and
the commands' ``--help`` stay quick. Mistakes a user can fix raise :class:`UserError` (its message names
the problem, its ``hint`` the fix).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gymsuite.envs.custom  # noqa: F401  (registers the gymsuite/ env ids)
from gymsuite.common.errors import UserError

if TYPE_CHECKING:
    from gymsuite.api import (
        Agent,
        Run,
        adapt,
        attack,
        compress,
        continual,
        evaluate,
        explain,
        export,
        load,
        make_env,
        record,
        resume,
        shift,
        train,
    )

__all__ = ["Agent", "Run", "UserError", "adapt", "attack", "compress", "continual", "evaluate", "explain", "export",
           "load", "make_env", "meta", "record", "resume", "shift", "train"]
__version__ = "0.2.0"

_API = {"Agent", "Run", "adapt", "attack", "compress", "continual", "evaluate", "explain", "export", "load", "make_env",
        "meta", "record", "resume", "shift", "train"}  # gymsuite.api.__all__


def __getattr__(name: str) -> Any:
    """The API's names, imported from :mod:`gymsuite.api` (with torch and SB3) when first asked for."""
    if name in _API:
        from gymsuite import api

        return getattr(api, name)
    raise AttributeError(f"module 'gymsuite' has no attribute {name!r}")
