"""Building and running a run (``gymsuite train``, ``gymsuite pretrain``): the config resolved once from defaults,
file and flags, the training from build to final evaluation, its callbacks, auxiliary losses and pre-training."""
