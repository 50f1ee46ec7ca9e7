"""Algorithms: the registry (``agents.registry``), gymsuite's own algorithms and the training pipeline."""
