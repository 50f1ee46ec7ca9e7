"""Experts: a trained agent's policy, acting on raw observations, for recording demonstrations and DAgger.

Shapes: B a batch of observations, O the observation shape, A the action shape.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import stable_baselines3 as sb3
from stable_baselines3.common.base_class import BaseAlgorithm
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecNormalize

from gymsuite.agents.files.modelfile import ModelFile, UnknownAlgorithmError
from gymsuite.agents.files.normstats import load_stats
from gymsuite.agents.files.rundir import RunDir
from gymsuite.agents.saved.loading import load_agent, load_model_file
from gymsuite.common.errors import UserError
from gymsuite.envs.factory import make_env


class ExpertPolicy(BasePolicy):
    """A trained agent's policy acting on *raw* observations, as imitation's algorithms call it.

    A run trained with ``normalize: true`` acts on normalised observations; this applies
    the run's frozen statistics first, so demonstrations and DAgger labels never depend
    on them. ``queries`` counts the observations it was asked about.
    """

    def __init__(self, policy: BasePolicy, obs_norm: VecNormalize | None = None) -> None:
        super().__init__(policy.observation_space, policy.action_space)
        self.expert = policy
        self.obs_norm = obs_norm
        self.queries = 0

    def _predict(self, observation: Any, deterministic: bool = False) -> Any:  # pragma: no cover
        raise NotImplementedError("ExpertPolicy acts through predict()")

    def predict(self, observation: np.ndarray | dict[str, np.ndarray], state: Any = None,
                episode_start: np.ndarray | None = None, deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """Actions ``(B, *A)`` for raw observations ``(B, *O)`` (demonstrations hold arrays, never dicts)."""
        if isinstance(observation, dict):
            raise UserError("an expert for demonstrations needs array observations, not a Dict space",
                            "flatten the observations with gymnasium.wrappers.FlattenObservation")
        self.queries += len(observation)
        if self.obs_norm is not None:
            observation = self.obs_norm.normalize_obs(observation)
        return self.expert.predict(observation, state, episode_start, deterministic)


def load_expert(target: str, env: str | None = None, algo: str | None = None,
                trust_pickle: bool = False) -> tuple[ExpertPolicy, str]:
    """Load a run directory or SB3 model zip as an :class:`ExpertPolicy`; returns it and its env spec.

    Only the policy matters here, so a bare zip of an algorithm gymsuite does not train
    (SAC, TD3) or cannot tell (A2C) still loads, by a class that restores its policy.

    Raises:
        UserError: nothing loadable at ``target``, or no env known for a bare zip.
    """
    model: BaseAlgorithm | None
    try:
        agent = load_agent(target, algo=algo, env=env, trust_pickle=trust_pickle)
        model, env_spec = agent.model, agent.env
    except UnknownAlgorithmError as err:
        info = err.model_file
        model, env_spec = load_model_file(_policy_loader(info), info.path, trust_pickle), env
    if env_spec is None:
        raise UserError(f"no environment known for {target} (a model file outside a run directory)",
                        "pass --env ENV")
    obs_norm = None
    run = RunDir(Path(target) if Path(target).is_dir() else Path(target).parent)
    if run.vecnormalize.is_file() or run.legacy_vecnormalize.is_file():
        obs_norm = load_stats(run.vecnormalize, make_env(env_spec, n_envs=1), run.legacy_vecnormalize, trust_pickle)
        obs_norm.training = False
    assert model is not None
    return ExpertPolicy(model.policy, obs_norm), env_spec


def _policy_loader(info: ModelFile) -> type[BaseAlgorithm]:
    """An SB3 class whose ``load`` restores the policy in ``info.path``: its own, or PPO for any actor-critic."""
    if info.algo_class is not None and hasattr(sb3, info.algo_class):
        return getattr(sb3, info.algo_class)
    if info.actor_critic:  # PPO and A2C (and other ActorCriticPolicy) zips all load as PPO
        return sb3.PPO
    raise UserError(f"cannot tell which algorithm saved {info.path} "
                    f"(policy from {info.policy_module or 'unknown module'})",
                    "pass --algo, or use the run directory the model came from")
