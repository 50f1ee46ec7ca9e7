"""Multi-agent training: IPPO/MAPPO on parallel envs (buffer: done agents' steps masked; mappo: central critic),
self-play for turn-based games (selfplay), Elo ratings of its snapshots (elo)."""
