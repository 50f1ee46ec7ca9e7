"""Every network, from the course's supervised chapters: MLP and CNN builders, observation normalisation,
and the SB3 features extractors (``backbones``) that policies and curiosity share."""
