"""Rewards the agent learns from besides the environment's own: shaping terms and curiosity.

* :mod:`gymsuite.rewards.shaping`: potential-based and term-based shaping (``gymnasium.Wrapper``s),
  configured by YAML through :func:`load_shaping`.
* :mod:`gymsuite.rewards.curiosity`: ICM, RND and raw-prediction curiosity as an SB3 ``VecEnvWrapper``
  plus a training callback, built by :func:`attach`.
* :mod:`gymsuite.rewards.learned`: a GAIL/AIRL reward network reused as the reward of another run.

The environment's own reward always stays in ``info["env_reward"]``; :mod:`gymsuite.rewards.env_reward`
owns that rule, and every reward wrapper calls it.
"""

from gymsuite.rewards.shaping import PotentialShaping, ShapingLogger, TermShaping, load_shaping

__all__ = ["PotentialShaping", "ShapingLogger", "TermShaping", "load_shaping"]
