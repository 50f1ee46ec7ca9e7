"""The references of the multi-agent benchmark: PettingZoo's SB3 recipes, rewritten here from their description.

* :func:`train_recipe`: PettingZoo's SB3 tutorial for Connect Four with action masking
  (``tutorials/SB3/connect_four/sb3_connect_four_action_mask.py``): one sb3-contrib ``MaskablePPO`` with its
  default hyperparameters and ``MaskableActorCriticPolicy`` plays every seat of the raw AEC game. After each move
  the learner receives the moving seat's cumulative reward and, as its next observation, the observation of the
  *other* seat (the one to move next). The loser's final reward is therefore never given to the move that lost,
  and the value of a state mixes both seats: the flaws the issue names. The tutorial trains 20,480 steps on one
  env and reports a win rate of about 0.86 against random.
* :func:`supersuit_vec`: SuperSuit's usual conversion, ``pettingzoo_env_to_vec_env_v1`` then
  ``concat_vec_envs_v1(..., base_class="stable_baselines3")``, the bridge gymsuite's is measured against.

Observations: the classic games' ``(rows, cols, 2)`` int8 planes; masks ``(A,)`` int8.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import gymnasium as gym
import numpy as np


class RecipeEnv(gym.Env):
    """The tutorial's view of a two-player AEC game: every move is the learner's, whichever seat makes it."""

    def __init__(self, env_module: str, **env_kwargs: Any) -> None:
        self.game = importlib.import_module(env_module).env(**env_kwargs)
        self.game.reset()
        first = self.game.possible_agents[0]
        self.observation_space = self.game.observation_space(first)["observation"]
        self.action_space = self.game.action_space(first)

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[np.ndarray, dict]:
        super().reset(seed=seed)
        self.game.reset(seed=seed)
        return self.game.observe(self.game.agent_selection)["observation"], {}

    def step(self, action: int) -> tuple[np.ndarray, float, bool, bool, dict]:
        mover = self.game.agent_selection
        self.game.step(int(action))
        after = self.game.agent_selection
        return (self.game.observe(after)["observation"], float(self.game._cumulative_rewards[mover]),
                bool(self.game.terminations[mover]), bool(self.game.truncations[mover]), {})

    def action_mask(self) -> np.ndarray:
        """``(A,)`` bool: the legal moves of the seat to move."""
        return self.game.observe(self.game.agent_selection)["action_mask"].astype(bool)


def train_recipe(env_module: str, steps: int, seed: int) -> Any:
    """The tutorial's training: ``MaskablePPO(MaskableActorCriticPolicy, ActionMasker(env))``, defaults, one env."""
    import torch
    from sb3_contrib import MaskablePPO
    from sb3_contrib.common.maskable.policies import MaskableActorCriticPolicy
    from sb3_contrib.common.wrappers import ActionMasker

    torch.set_num_threads(1)
    env = RecipeEnv(env_module)
    env.reset(seed=seed)
    model = MaskablePPO(MaskableActorCriticPolicy, ActionMasker(env, lambda _: env.action_mask()), verbose=0,
                        device="cpu")
    model.set_random_seed(seed)
    model.learn(total_timesteps=steps)
    return model


def masked_player(model: Any) -> Callable[[np.ndarray, np.ndarray], int]:
    """The tutorial's evaluation move: ``model.predict(observation, action_masks=mask, deterministic=True)``."""

    def act(obs: np.ndarray, mask: np.ndarray) -> int:
        action, _ = model.predict(obs, action_masks=np.asarray(mask, bool), deterministic=True)
        return int(action)

    return act


def supersuit_vec(env_module: str, copies: int) -> Any:
    """SuperSuit's SB3 vector env of ``copies`` copies of ``env_module``'s parallel env (one slot per agent)."""
    import supersuit as ss

    parallel = importlib.import_module(env_module).parallel_env()
    return ss.concat_vec_envs_v1(ss.pettingzoo_env_to_vec_env_v1(parallel), copies, num_cpus=0,
                                 base_class="stable_baselines3")
