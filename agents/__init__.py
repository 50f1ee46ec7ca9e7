"""Agents: algorithms (``gymsuite.agents.algorithms``: the registry, policy gradient, imitation adapters; multi-agent
ones in ``gymsuite.agents.multiagent``), demonstration data (``gymsuite.agents.data``), a run (``gymsuite.agents.run``),
its file formats (``gymsuite.agents.files``), using a saved agent (``gymsuite.agents.saved``) and many runs
(``gymsuite.agents.sweeps``)."""
