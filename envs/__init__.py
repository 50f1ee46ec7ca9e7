"""Making, checking and wrapping environments: ``factory`` builds them from a spec, ``check`` reports what is wrong
with a custom one, ``wrappers`` and ``observation`` change what the agent sees, ``custom`` holds the example envs
(registered under ``gymsuite/`` by ``import gymsuite``), ``multiagent`` bridges PettingZoo."""
