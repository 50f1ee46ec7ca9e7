"""Multi-agent environments: PettingZoo games and their bridges to SB3."""
