"""Multi-agent training: self-play for turn-based games (selfplay), Elo ratings of its snapshots."""
