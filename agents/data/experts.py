"""Experts: a trained agent's policy, acting on raw observations, for recording demonstrations and DAgger.

Shapes: B a batch of observations, O the observation shape, A the action shape.
"""

from __future__ import annotations

import json
import zipfile
from pathlib import Path
from typing import Any

import numpy as np
from stable_baselines3.common.policies import BasePolicy
from stable_baselines3.common.vec_env import VecNormalize

from common.errors import UserError


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

    def predict(self, observation: np.ndarray, state: Any = None, episode_start: np.ndarray | None = None,
                deterministic: bool = False) -> tuple[np.ndarray, Any]:
        """Actions ``(B, *A)`` for raw observations ``(B, *O)``."""
        self.queries += len(observation)
        if self.obs_norm is not None:
            observation = self.obs_norm.normalize_obs(observation)
        return self.expert.predict(observation, state, episode_start, deterministic)


def load_expert(target: str, env: str | None = None, algo: str | None = None) -> tuple[ExpertPolicy, str]:
    """Load a run directory or SB3 model zip as an :class:`ExpertPolicy`; returns it and its env spec.

    Raises:
        UserError: nothing loadable at ``target``, or no env known for a bare zip.
    """
    from agents.pipeline.loading import load_agent, load_model_file
    from envs import make_env

    try:
        agent = load_agent(target, algo=algo, env=env)
        model, env_spec = agent.model, agent.env
    except UserError as err:
        if "cannot tell which algorithm" not in err.message:
            raise
        model, env_spec = load_model_file(_sb3_class(Path(target)), Path(target)), env
    if env_spec is None:
        raise UserError(f"no environment known for {target} (a model file outside a run directory)",
                        "pass --env ENV")
    obs_norm = None
    run_dir = Path(target) if Path(target).is_dir() else Path(target).parent
    if (run_dir / "vecnormalize.pkl").is_file():
        obs_norm = VecNormalize.load(str(run_dir / "vecnormalize.pkl"), make_env(env_spec, n_envs=1))
        obs_norm.training = False
    assert model is not None
    return ExpertPolicy(model.policy, obs_norm), env_spec


def _sb3_class(path: Path) -> type:
    """The SB3 class that saved ``path``, read from the policy class recorded in the zip."""
    import stable_baselines3 as sb3

    with zipfile.ZipFile(path) as archive:
        module = json.loads(archive.read("data")).get("policy_class", {}).get("__module__", "")
    for name in ("dqn", "sac", "td3", "ddpg"):
        if f"stable_baselines3.{name}." in module:
            return getattr(sb3, name.upper())
    if module == "stable_baselines3.common.policies":  # actor-critic: PPO and A2C zips both load as PPO
        return sb3.PPO
    raise UserError(f"cannot tell which algorithm saved {path} (policy from {module or 'unknown module'})",
                    "pass --algo, or use the run directory the model came from")
