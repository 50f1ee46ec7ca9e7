"""Algorithms: the registry (``agents.algorithms.registry``), gymsuite's own algorithms and the training pipeline."""
