"""Agents: algorithms (``gymsuite.agents.algorithms``: the registry, policy gradient, imitation adapters),
demonstration data (``gymsuite.agents.data``) and the run pipeline (``gymsuite.agents.pipeline``)."""
