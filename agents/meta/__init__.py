"""Meta-learning: learning an initialisation that adapts fast to new tasks (``gymsuite meta``)."""
