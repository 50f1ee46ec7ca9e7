"""PettingZoo (multi-agent) envs in gymsuite: which specs they are, and the bridge that trains SB3 on them.

* :mod:`gymsuite.envs.multiagent.source`: :func:`multiagent_source` (``--env mpe2.simple_spread_v3``,
  ``module:function``, ``file.py:function``), parallel or AEC, turn-based or not.
* :mod:`gymsuite.envs.multiagent.bridge`: :class:`ParallelVecEnv`, C copies x G agents as one SB3 ``VecEnv``.
* :mod:`gymsuite.envs.multiagent.options`: the ``multiagent`` hyperparameter (:func:`multiagent_options`).
* :mod:`gymsuite.envs.multiagent.check`: PettingZoo's API test plus gymsuite's report, for custom envs.
"""

from gymsuite.envs.multiagent.bridge import ParallelVecEnv, make_parallel_vec_env
from gymsuite.envs.multiagent.options import MultiAgentOptions, multiagent_options
from gymsuite.envs.multiagent.source import MultiAgentSource, multiagent_source

__all__ = ["MultiAgentOptions", "MultiAgentSource", "ParallelVecEnv", "make_parallel_vec_env",
           "multiagent_options", "multiagent_source"]
