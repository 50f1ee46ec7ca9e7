"""The run pipeline behind ``gymsuite train|evaluate|record``: config, training, callbacks, the run
directory, loading, evaluation and video."""
