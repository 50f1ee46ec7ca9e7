"""imitation 1.0.1 is installed without its gymnasium 0.29 / SB3 2.2 pins: prove the parts we use run.

Every imitation entry point gymsuite uses is exercised here, so an upgrade of
gymnasium, stable-baselines3 or imitation that breaks one fails CI.
"""

from __future__ import annotations

import importlib.metadata

import numpy as np
from stable_baselines3 import PPO

from gymsuite.envs.factory import make_env
from gymsuite.envs.observation import EnvOptions


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


def test_dagger_entry_points_run_on_current_stack(tmp_path) -> None:
    from imitation.algorithms import bc, dagger
    from imitation.data import rollout

    venv = make_env("CartPole-v1", n_envs=2, seed=0)
    expert = PPO("MlpPolicy", venv, n_steps=64, seed=0, device="cpu")
    rng = np.random.default_rng(0)
    learner = bc.BC(observation_space=venv.observation_space, action_space=venv.action_space, rng=rng, device="cpu")
    trainer = dagger.SimpleDAggerTrainer(venv=venv, scratch_dir=tmp_path, expert_policy=expert.policy, rng=rng,
                                         beta_schedule=dagger.LinearBetaSchedule(2), bc_trainer=learner)
    collector = trainer.create_trajectory_collector()
    trajs = rollout.generate_trajectories(expert.policy, collector, rollout.make_sample_until(min_episodes=2),
                                          rng=collector.rng, deterministic_policy=True)
    assert len(trajs) >= 2 and trajs[0].infos is not None
    assert trainer.extend_and_update({"n_epochs": 1, "progress_bar": False, "log_rollouts_venv": None}) == 1


def test_adversarial_entry_points_run_on_current_stack() -> None:
    import torch
    from imitation.algorithms.adversarial import airl, gail
    from imitation.data import rollout
    from imitation.rewards import reward_nets
    from imitation.util import logger as imit_logger
    from imitation.util import networks
    from stable_baselines3.common.logger import configure

    venv = make_env("CartPole-v1", n_envs=2, seed=0)
    rng = np.random.default_rng(0)
    demos = rollout.flatten_trajectories(
        rollout.generate_trajectories(None, venv, rollout.make_sample_until(min_timesteps=64), rng=rng))
    for trainer_cls, net in (
        (gail.GAIL, reward_nets.BasicRewardNet(venv.observation_space, venv.action_space,
                                               normalize_input_layer=networks.RunningNorm)),
        (airl.AIRL, reward_nets.BasicShapedRewardNet(venv.observation_space, venv.action_space,
                                                     normalize_input_layer=networks.RunningNorm)),
    ):
        gen = PPO("MlpPolicy", venv, n_steps=32, batch_size=32, n_epochs=1, seed=0, device="cpu")
        logger = imit_logger.HierarchicalLogger(configure(None, []), [])
        trainer = trainer_cls(demonstrations=demos, demo_batch_size=32, venv=venv, gen_algo=gen, reward_net=net,
                              custom_logger=logger, allow_variable_horizon=True)
        trainer.train_gen(64)
        with networks.training(trainer.reward_train):
            stats = trainer.train_disc()
        assert np.isfinite(stats["disc_loss"]) and gen.num_timesteps >= 64
        rewards = trainer.reward_test.predict_processed(demos.obs[:4], demos.acts[:4], demos.next_obs[:4],
                                                        demos.dones[:4])
        assert rewards.shape == (4,)
        if trainer_cls is gail.GAIL:
            assert isinstance(trainer.reward_test, gail.RewardNetFromDiscriminatorLogit)
        assert all(isinstance(v, torch.Tensor) for v in net.state_dict().values())


def test_rollout_keeps_infos_for_truncation_flags() -> None:
    from imitation.data import rollout
    from imitation.data.wrappers import RolloutInfoWrapper

    venv = make_env("CartPole-v1", n_envs=1, seed=0, options=EnvOptions(max_episode_steps=5),
                    wrappers=[RolloutInfoWrapper])
    trajs = rollout.rollout(lambda obs, state, starts: (np.ones(len(obs), dtype=int), None), venv,
                            rollout.make_sample_until(min_episodes=1), rng=np.random.default_rng(0),
                            exclude_infos=False, verbose=False)
    last = trajs[0].infos[-1]
    assert "TimeLimit.truncated" in last and len(trajs[0].obs) == len(trajs[0].acts) + 1
