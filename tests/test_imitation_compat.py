"""imitation 1.0.1 is installed without its gymnasium 0.29 / SB3 2.2 pins: prove the parts we use run.

Every imitation entry point gymsuite uses is exercised here, so an upgrade of
gymnasium, stable-baselines3 or imitation that breaks one fails CI.
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
from stable_baselines3 import PPO

from envs import make_env


def test_installed_stack_is_current() -> None:
    version = importlib.metadata.version
    assert version("gymnasium").startswith("1."), "imitation must not drag gymnasium back to 0.29"
    assert int(version("stable-baselines3").split(".")[1]) >= 4, "imitation must not drag SB3 back to 2.2"


def test_rollout_and_behaviour_cloning_run_on_current_stack() -> None:
    from imitation.algorithms import bc
    from imitation.data import rollout
    from imitation.data.wrappers import RolloutInfoWrapper

    venv = make_env("CartPole-v1", n_envs=2, seed=0, wrappers=[RolloutInfoWrapper])
    expert = PPO("MlpPolicy", venv, n_steps=64, seed=0, device="cpu")
    rng = np.random.default_rng(0)
    trajs = rollout.rollout(expert, venv, rollout.make_sample_until(min_episodes=4), rng=rng)
    assert len(trajs) >= 4 and trajs[0].obs.shape[1:] == (4,)
    transitions = rollout.flatten_trajectories(trajs)
    assert len(transitions) == sum(len(t) for t in trajs)
    trainer = bc.BC(observation_space=venv.observation_space, action_space=venv.action_space,
                    demonstrations=transitions, rng=rng, device="cpu")
    trainer.train(n_epochs=1)
    assert trainer.policy.predict(transitions.obs[:3], deterministic=True)[0].shape == (3,)
