"""Elo ratings (Elo 1978): expected scores, the incremental update, and a snapshot's rating from its games.

A player rated ``ra`` expects the score ``E = 1 / (1 + 10 ** ((rb - ra) / 400))`` against one rated ``rb``
(win 1, draw 0.5, loss 0). Self-play rates each new snapshot once, against opponents whose ratings
stay fixed (earlier snapshots and the random player, the anchor at :data:`ANCHOR`): its rating is the
maximum-likelihood one, where its expected total score equals its actual total score.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

ANCHOR = 1000.0  # the random player's fixed rating
SCALE = 400.0


def expected(ra: float, rb: float) -> float:
    """The score a player rated ``ra`` expects against one rated ``rb`` (0..1)."""
    return 1.0 / (1.0 + 10.0 ** ((rb - ra) / SCALE))


def update(ra: float, rb: float, score: float, k: float = 32.0) -> tuple[float, float]:
    """Both ratings after one game in which the first player scored ``score`` (1, 0.5 or 0)."""
    change = k * (score - expected(ra, rb))
    return ra + change, rb - change


def performance(ratings: Sequence[float], scores: Sequence[float], games: Sequence[int]) -> float:
    """The rating under which the expected total score against ``ratings`` equals the actual one.

    Args:
        ratings: each opponent's fixed rating (K,).
        scores: the total score against each (K,), wins + draws / 2.
        games: games played against each (K,).

    A perfect or a null score has no finite answer: half a game is moved from the winner to the
    loser (the usual correction), so a clean sweep rates high but finite.
    """
    r, s, n = (np.asarray(x, dtype=float) for x in (ratings, scores, games))
    total = float(np.clip(s.sum(), 0.5, n.sum() - 0.5))
    low, high = float(r.min()) - 4000.0, float(r.max()) + 4000.0
    for _ in range(100):  # bisection: the expected total rises with the rating
        mid = (low + high) / 2
        if float((n / (1.0 + 10.0 ** ((r - mid) / SCALE))).sum()) < total:
            low = mid
        else:
            high = mid
    return (low + high) / 2
