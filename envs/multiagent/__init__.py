"""PettingZoo (multi-agent) envs in gymsuite: which specs they are, and the bridge that trains SB3 on them.

* :mod:`envs.multiagent.source`: :func:`multiagent_source` (``--env mpe2.simple_spread_v3``,
  ``module:function``, ``file.py:function``), parallel or AEC, turn-based or not.
* :mod:`envs.multiagent.bridge`: :class:`ParallelVecEnv`, C copies x G agents as one SB3 ``VecEnv``.
* :mod:`envs.multiagent.options`: the ``multiagent`` hyperparameter (:func:`multiagent_options`).
* :mod:`envs.multiagent.check`: PettingZoo's API test plus gymsuite's report, for custom envs.
"""

from envs.multiagent.bridge import ParallelVecEnv, make_parallel_vec_env
from envs.multiagent.options import MultiAgentOptions, multiagent_options
from envs.multiagent.source import MultiAgentSource, is_multiagent, multiagent_source

__all__ = ["MultiAgentOptions", "MultiAgentSource", "ParallelVecEnv", "is_multiagent", "make_parallel_vec_env",
           "multiagent_options", "multiagent_source"]
