"""Example custom environments, registered under the ``gymsuite/`` namespace on import."""

from gymnasium.envs.registration import register, registry

from gymsuite.envs.custom.pixel_cartpole import TARGET_LOOK
from gymsuite.envs.custom.sparse_grid import SparseGridEnv
from gymsuite.envs.custom.tmaze import TMazeEnv

__all__ = ["SparseGridEnv", "TMazeEnv"]

if "gymsuite/SparseGrid-v0" not in registry:
    register(id="gymsuite/SparseGrid-v0", entry_point="gymsuite.envs.custom.sparse_grid:SparseGridEnv",
             max_episode_steps=200)
if "gymsuite/NoisyTVGrid-v0" not in registry:
    register(id="gymsuite/NoisyTVGrid-v0", entry_point="gymsuite.envs.custom.noisy_tv:NoisyTVGridEnv",
             max_episode_steps=200)
if "gymsuite/PixelCartPole-v0" not in registry:
    # Solved at 195, CartPole-v0's old threshold: a pixel agent's return is noisier than a state agent's.
    register(id="gymsuite/PixelCartPole-v0", entry_point="gymsuite.envs.custom.pixel_cartpole:PixelCartPoleEnv",
             max_episode_steps=500, reward_threshold=195.0)
if "gymsuite/PixelCartPoleRecolored-v0" not in registry:  # the target domain of domain adaptation (chapter 9)
    register(id="gymsuite/PixelCartPoleRecolored-v0",
             entry_point="gymsuite.envs.custom.pixel_cartpole:PixelCartPoleEnv", max_episode_steps=500,
             reward_threshold=195.0, kwargs=dict(TARGET_LOOK))
if "gymsuite/CartPoleNoVel-v0" not in registry:
    register(id="gymsuite/CartPoleNoVel-v0", entry_point="gymsuite.envs.custom.no_velocity:cartpole_no_velocity",
             max_episode_steps=500, reward_threshold=475.0)
if "gymsuite/PendulumNoVel-v0" not in registry:
    register(id="gymsuite/PendulumNoVel-v0", entry_point="gymsuite.envs.custom.no_velocity:pendulum_no_velocity",
             max_episode_steps=200)
if "gymsuite/TMaze-v0" not in registry:
    register(id="gymsuite/TMaze-v0", entry_point="gymsuite.envs.custom.tmaze:TMazeEnv")
if "gymsuite/TwoArmedBandit-v0" not in registry:  # Duan et al.'s bandits (meta-learning: RL^2)
    register(id="gymsuite/TwoArmedBandit-v0", entry_point="gymsuite.envs.custom.bandit:two_armed")
if "gymsuite/Tasks-v0" not in registry:  # one task or a mixture of them (gymsuite.envs.tasks: continual learning)
    register(id="gymsuite/Tasks-v0", entry_point="gymsuite.envs.taskenv:TaskEnv")
if "gymsuite/Trials-v0" not in registry:  # RL^2's trials: K episodes of a task drawn from a family per trial
    register(id="gymsuite/Trials-v0", entry_point="gymsuite.envs.taskenv:trial_env")
