"""Agents: algorithms (``agents.algorithms``: the registry, policy gradient, imitation adapters),
demonstration data (``agents.data``) and the run pipeline (``agents.pipeline``)."""
